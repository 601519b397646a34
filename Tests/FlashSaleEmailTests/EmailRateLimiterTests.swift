import FlashSaleEmail
import FlashSaleTestSupport
import RedisClient
import Synchronization
import Testing

@Suite struct EmailRateLimiterTests {
    /// What the concurrent workers of a test share.
    final class Tally: Sendable {
        let granted = Mutex<[Duration]>([])
        let wanted: Atomic<Int>
        let waits = Atomic<Int>(0)

        init(wanted: Int) { self.wanted = Atomic(wanted) }
    }

    /// The most grants of `times` (sorted) inside any window of `length` (half-open, `[t, t + length)`).
    static func busiestWindow(_ times: [Duration], length: Duration) -> Int {
        var busiest = 0
        var first = 0
        for last in times.indices {
            while times[last] - times[first] >= length { first += 1 }
            busiest = max(busiest, last - first + 1)
        }
        return busiest
    }

    @Test func concurrentWorkersNeverExceedTheRateInAnyOneSecondWindow() async throws {
        let server = try await TestRedisServer()
        let limits = EmailRateLimiter.Limits(perSecond: 20, burst: 20)
        let tally = Tally(wanted: 100)
        // Four workers, each with its own client (as separate processes would have).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await withClient(server.configuration) { client in
                        let limiter = EmailRateLimiter(
                            client: client, limits: limits, onWait: { _ in tally.waits.add(1, ordering: .relaxed) })
                        while tally.wanted.subtract(1, ordering: .relaxed).oldValue > 0 {
                            let permit = try await limiter.waitForPermit(maxWait: .seconds(30))
                            guard case .granted(let at) = permit else {
                                Issue.record("no permit within 30 s: \(permit)")
                                return
                            }
                            tally.granted.withLock { $0.append(at) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let times = tally.granted.withLock { $0 }.sorted()
        #expect(times.count == 100)
        #expect(Self.busiestWindow(times, length: .seconds(1)) <= 20)
        // With the default margin, even a 1.25 s window holds no more than the rate.
        #expect(Self.busiestWindow(times, length: .milliseconds(1250)) <= 20)
        // 100 permits at 20 per 1.25 s: four waits of a window after the first twenty.
        let span = try #require(times.last) - times[0]
        #expect(span >= .milliseconds(5000) && span < .seconds(10))
        #expect(tally.waits.load(ordering: .relaxed) > 0)
        await server.stop()
    }

    @Test func tieredQuotasApplyAtNinetyPercentAndTakeAllOrNothing() async throws {
        let server = try await TestRedisServer()
        let limits = EmailRateLimiter.Limits(
            perSecond: 1000, burst: 1000,
            quotas: [.init(10, per: .minute), .init(100, per: .hour), .init(1000, per: .day)])
        #expect(limits.quotas.map(\.limit) == [9, 90, 900])
        try await withClient(server.configuration) { first in
            try await withClient(server.configuration) { second in
                // Two workers share one budget.
                let a = EmailRateLimiter(client: first, limits: limits, keyPrefix: "fs:rl:email:")
                let b = EmailRateLimiter(client: second, limits: limits)
                for index in 0..<9 {
                    guard case .granted = try await (index.isMultiple(of: 2) ? a : b).acquire() else {
                        Issue.record("permit \(index + 1) of 9 refused")
                        return
                    }
                }
                guard case .denied(let retryAfter) = try await a.acquire() else {
                    Issue.record("a tenth e-mail within a minute was allowed")
                    return
                }
                #expect(retryAfter > .seconds(55) && retryAfter <= .seconds(62))
                #expect(a.waits == 1 && b.waits == 0)
                // waitForPermit hands back a wait longer than the caller can hold the job.
                guard case .denied = try await b.waitForPermit(maxWait: .seconds(1)) else {
                    Issue.record("waitForPermit granted past the quota")
                    return
                }
                // The refused attempts consumed nothing in the other tiers.
                for period in ["hour", "day"] {
                    let counts = try await first.send(["HVALS", .string("fs:rl:email:{email}:\(period)")])
                    #expect(counts.array?.compactMap(\.integer).reduce(0, +) == 9)
                }
                let keys = try await first.send(["KEYS", "*"]).array?.compactMap(\.string).sorted()
                #expect(keys == ["bucket", "day", "hour", "minute", "second"].map { "fs:rl:email:{email}:\($0)" })
            }
        }
        await server.stop()
    }

    @Test func theBucketAllowsABurstThenRefills() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { client in
            let limiter = EmailRateLimiter(
                client: client, limits: .init(perSecond: 10, burst: 5), keyPrefix: "test:")
            for _ in 0..<5 {
                guard case .granted = try await limiter.acquire() else {
                    Issue.record("burst refused")
                    return
                }
            }
            guard case .denied(let wait) = try await limiter.acquire() else {
                Issue.record("burst exceeded")
                return
            }
            #expect(wait > .zero && wait <= .milliseconds(100))  // one token at 10 per second
            try await Task.sleep(for: wait)
            guard case .granted = try await limiter.acquire() else {
                Issue.record("no refill")
                return
            }
        }
        await server.stop()
    }
}
