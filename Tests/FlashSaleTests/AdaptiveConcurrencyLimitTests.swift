import FlashSale
import Testing

/// The adaptive limit's decisions with a fake clock: shares per priority, shrinking under
/// congestion, growing when used and fast, within its bounds.
@Suite struct AdaptiveConcurrencyLimitTests {
    let start = ContinuousClock.now
    let settings = AdaptiveConcurrencyLimit.Settings(
        initialLimit: 20, minimumLimit: 10, maximumLimit: 22, window: .milliseconds(100), tolerance: 2, slack: .milliseconds(5))

    @Test func eachPriorityFillsItsShareOfTheLimit() {
        var limit = AdaptiveConcurrencyLimit(settings: settings, now: start)
        var reads = 0
        while limit.admit(.read) { reads += 1 }
        #expect(reads == 10)
        var checkouts = 0
        while limit.admit(.checkout) { checkouts += 1 }
        #expect(checkouts == 5)
        var purchases = 0
        while limit.admit(.purchase) { purchases += 1 }
        #expect(purchases == 5)
        #expect(limit.inFlight == 20)
        limit.finish(latency: .milliseconds(1), now: start)
        let read = limit.admit(.read)
        let purchase = limit.admit(.purchase)
        #expect(!read)
        #expect(purchase)
    }

    /// One window of `count` requests, each `latency` long: all but the last end inside it, the
    /// last `at`, which closes it.
    func window(_ limit: inout AdaptiveConcurrencyLimit, count: Int, latency: Duration, at: ContinuousClock.Instant) {
        for _ in 0..<count { _ = limit.admit(.purchase) }
        for _ in 1..<count { limit.finish(latency: latency, now: at - .milliseconds(50)) }
        limit.finish(latency: latency, now: at)
    }

    @Test func congestionShrinksTheLimitDownToItsMinimum() {
        var limit = AdaptiveConcurrencyLimit(settings: settings, now: start)
        window(&limit, count: 5, latency: .milliseconds(2), at: start + .milliseconds(100))
        #expect(limit.limit == 20)
        // 2 ms baseline: 2 × 2 + 5 = 9 ms is the most a window may average.
        window(&limit, count: 5, latency: .milliseconds(30), at: start + .milliseconds(200))
        #expect(limit.limit == 18)
        for step in 3...20 { window(&limit, count: 5, latency: .milliseconds(30), at: start + .milliseconds(100 * step)) }
        #expect(limit.limit == 10)
    }

    @Test func aFastWindowThatUsedTheLimitGrowsItUpToItsMaximum() {
        var limit = AdaptiveConcurrencyLimit(settings: settings, now: start)
        // Not used enough: no growth.
        window(&limit, count: 5, latency: .milliseconds(2), at: start + .milliseconds(100))
        #expect(limit.limit == 20)
        for step in 2...6 { window(&limit, count: 19, latency: .milliseconds(2), at: start + .milliseconds(100 * step)) }
        #expect(limit.limit == 22)
    }

    @Test func nothingMovesWithinAWindow() {
        var limit = AdaptiveConcurrencyLimit(settings: settings, now: start)
        window(&limit, count: 5, latency: .milliseconds(2), at: start + .milliseconds(100))
        window(&limit, count: 5, latency: .milliseconds(500), at: start + .milliseconds(150))
        #expect(limit.limit == 20)
    }
}
