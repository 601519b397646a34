import FlashSale
import Metrics
import Synchronization

/// The service's one adaptive limit on requests in flight (see ``AdaptiveConcurrencyLimit``),
/// shared by every route that can be shed. The limit is exported as `flashsale_concurrency_limit`
/// and every shed request counted in `flashsale_shed_total{priority}`.
public final class LoadShedder: Sendable {
    private let state: Mutex<AdaptiveConcurrencyLimit>
    private let limitGauge = Gauge(label: "flashsale_concurrency_limit")
    /// Made once: under an overload every shed request counts, and a counter looked up by its
    /// labels costs a registry lock each time (as ``RefusalCounters`` does for 429s).
    private let shedCounters = Dictionary(
        uniqueKeysWithValues: RequestPriority.allCases.map {
            ($0, Counter(label: "flashsale_shed_total", dimensions: [("priority", $0.rawValue)]))
        })

    public init(settings: AdaptiveConcurrencyLimit.Settings = .init()) {
        state = Mutex(AdaptiveConcurrencyLimit(settings: settings, now: .now))
        limitGauge.record(settings.initialLimit)
    }

    /// Runs `body` when a request of `priority` may start now; otherwise answers nil at once.
    public func run<T>(_ priority: RequestPriority, _ body: () async throws -> T) async rethrows -> T? {
        guard state.withLock({ $0.admit(priority) }) else {
            shedCounters[priority]?.increment()
            return nil
        }
        let started = ContinuousClock.now
        defer {
            let now = ContinuousClock.now
            let limit = state.withLock { limit in
                limit.finish(latency: now - started, now: now)
                return limit.limit
            }
            limitGauge.record(limit)
        }
        return try await body()
    }

    public var limit: Double { state.withLock { $0.limit } }
    public var inFlight: Int { state.withLock { $0.inFlight } }
}
