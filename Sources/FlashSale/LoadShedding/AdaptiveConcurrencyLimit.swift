/// A limit on requests in flight that follows observed latency (AIMD, as Netflix's
/// concurrency-limits does): every window, a latency well above the lowest seen lately shrinks the
/// limit by a tenth; a window with the limit nearly used and latency near that baseline grows it
/// by one. Requests past their priority's share of it are shed. A pure state machine: the caller
/// brings the clock and does the I/O.
public struct AdaptiveConcurrencyLimit: Sendable {
    public struct Settings: Sendable, Equatable {
        public var initialLimit: Int
        public var minimumLimit: Int
        public var maximumLimit: Int
        /// How often the limit moves.
        public var window: Duration
        /// A window's mean latency above `baseline × tolerance + slack` counts as congestion.
        public var tolerance: Double
        public var slack: Duration
        /// How long the lowest window mean is remembered as the baseline (it is re-learned after).
        public var baselineMemory: Duration

        public init(
            initialLimit: Int = 256, minimumLimit: Int = 64, maximumLimit: Int = 4096, window: Duration = .milliseconds(100),
            tolerance: Double = 3, slack: Duration = .milliseconds(10), baselineMemory: Duration = .seconds(30)
        ) {
            self.initialLimit = initialLimit
            self.minimumLimit = minimumLimit
            self.maximumLimit = maximumLimit
            self.window = window
            self.tolerance = tolerance
            self.slack = slack
            self.baselineMemory = baselineMemory
        }
    }

    public let settings: Settings
    public private(set) var limit: Double
    public private(set) var inFlight = 0
    private var windowStart: ContinuousClock.Instant
    private var windowLatency: Duration = .zero
    private var windowCount = 0
    private var windowPeak = 0
    private var baseline: Duration?
    private var baselineSetAt: ContinuousClock.Instant

    public init(settings: Settings = Settings(), now: ContinuousClock.Instant) {
        self.settings = settings
        limit = Double(settings.initialLimit)
        windowStart = now
        baselineSetAt = now
    }

    /// Whether a request of `priority` may start now; when it may, it counts as in flight until
    /// ``finish(latency:now:)``.
    public mutating func admit(_ priority: RequestPriority) -> Bool {
        guard Double(inFlight) < (limit * priority.share).rounded(.up) else { return false }
        inFlight += 1
        windowPeak = max(windowPeak, inFlight)
        return true
    }

    /// An admitted request ended after `latency`.
    public mutating func finish(latency: Duration, now: ContinuousClock.Instant) {
        inFlight -= 1
        windowLatency += latency
        windowCount += 1
        guard now - windowStart >= settings.window else { return }
        let mean = windowLatency / windowCount
        if baseline == nil || mean < baseline! || now - baselineSetAt > settings.baselineMemory {
            baseline = mean
            baselineSetAt = now
        }
        let congested = mean > baseline! * settings.tolerance + settings.slack
        if congested {
            limit = max(Double(settings.minimumLimit), limit * 0.9)
        } else if Double(windowPeak) >= limit * 0.8 {
            limit = min(Double(settings.maximumLimit), limit + 1)
        }
        windowStart = now
        windowLatency = .zero
        windowCount = 0
        windowPeak = inFlight
    }
}
