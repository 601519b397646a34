import FlashSale
import Metrics

/// `flashsale_rate_limited_total` per limit, made once: a counter looked up by its labels on
/// every refusal cost a registry lock and a hash of the labels, on the path that must cost least.
struct RefusalCounters: Sendable {
    private let counters: [Key: Counter]

    private struct Key: Hashable {
        let limit: String
        let blocked: Bool
    }

    init(policy: RateLimitPolicy) {
        var counters: [Key: Counter] = [:]
        for limit in policy.groups.values.joined() {
            for blocked in [false, true] {
                counters[Key(limit: limit.name, blocked: blocked)] = Self.make(limit: limit.name, blocked: blocked)
            }
        }
        self.counters = counters
    }

    func increment(_ refusal: RateLimitDecision) {
        let blocked = refusal.block != .none
        (counters[Key(limit: refusal.limit.name, blocked: blocked)] ?? Self.make(limit: refusal.limit.name, blocked: blocked))
            .increment()
    }

    private static func make(limit: String, blocked: Bool) -> Counter {
        Counter(label: "flashsale_rate_limited_total", dimensions: [("limit", limit), ("blocked", blocked ? "true" : "false")])
    }
}
