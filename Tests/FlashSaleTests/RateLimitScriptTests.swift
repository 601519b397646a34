import FlashSale
import FlashSaleTestSupport
import RedisClient
import Testing

/// Each algorithm's script against a redis-server alone: how many pass, what a refusal says, and
/// that a refusal spends nothing.
@Suite struct RateLimitScriptTests {
    static func limit(_ algorithm: RateLimit.Algorithm, quota: Int, window: Double, burst: Int? = nil) -> RateLimit {
        RateLimit(name: "test", scope: .shopper, algorithm: algorithm, quota: quota, windowSeconds: window, burst: burst)
    }

    func withLimiter(_ body: (RedisRateLimiter, RedisClient) async throws -> Void) async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { client in
            try await body(RedisRateLimiter(redis: client), client)
        }
    }

    @Test func tokenBucketPassesItsBurstCountingDownThenSaysWhenTheNextTokenComes() async throws {
        try await withLimiter { limiter, redis in
            let limit = Self.limit(.tokenBucket, quota: 1, window: 60, burst: 5)
            let remaining = try await Self.spend(5, of: limit, subject: "a", limiter)
            #expect(remaining == [4, 3, 2, 1, 0])
            let key = RedisRateLimiter.keys(limit, subject: "a").limit
            let state = try await redis.send("HGETALL", .string(key))
            let refused = try await limiter.check(limit, subject: "a")
            #expect(!refused.allowed)
            #expect(refused.remaining == 0)
            // One token a minute: the next is most of a minute away, the bucket full in five.
            #expect((59_000_000...60_000_000).contains(refused.retryAfterMicroseconds))
            #expect((299_000_000...300_000_000).contains(refused.resetMicroseconds))
            #expect(try await redis.send("HGETALL", .string(key)) == state)
            let ttl = try await redis.send("PTTL", .string(key))
            #expect(ttl.integer.map { $0 > 299_000 } == true)
        }
    }

    @Test func gcraPassesItsBurstThenOneRequestPerInterval() async throws {
        try await withLimiter { limiter, redis in
            // One per 100 ms, three early at most.
            let limit = Self.limit(.gcra, quota: 10, window: 1, burst: 3)
            let remaining = try await Self.spend(3, of: limit, subject: "g", limiter)
            #expect(remaining == [2, 1, 0])
            let key = RedisRateLimiter.keys(limit, subject: "g").limit
            let arrival = try await redis.send("GET", .string(key))
            let refused = try await limiter.check(limit, subject: "g")
            #expect(!refused.allowed)
            #expect((1...100_000).contains(refused.retryAfterMicroseconds))
            #expect(try await redis.send("GET", .string(key)) == arrival)
            try await Task.sleep(for: .microseconds(refused.retryAfterMicroseconds + 5_000))
            #expect(try await limiter.check(limit, subject: "g").allowed)
            // The interval does not add up into a new burst: the one after it is refused again.
            #expect(try await !limiter.check(limit, subject: "g").allowed)
        }
    }

    @Test func slidingWindowHoldsItsQuotaInOneWindow() async throws {
        try await withLimiter { limiter, _ in
            let limit = Self.limit(.slidingWindow, quota: 3, window: 600)
            let remaining = try await Self.spend(3, of: limit, subject: "w", limiter)
            // The previous window may carry nothing: remaining counts down from quota - 1.
            #expect(remaining == [2, 1, 0])
            let refused = try await limiter.check(limit, subject: "w")
            #expect(!refused.allowed)
            // This window's three must fade in the next until one more fits: to its start, then a third of it.
            #expect(refused.retryAfterMicroseconds > 200_000_000 && refused.retryAfterMicroseconds <= 800_000_000)
        }
    }

    @Test func slidingWindowWeighsThePreviousWindowByItsOverlap() async throws {
        try await withLimiter { limiter, redis in
            let limit = Self.limit(.slidingWindow, quota: 10, window: 1000)
            let window: Int64 = 1_000_000_000
            let now = try await Self.redisMicroseconds(redis)
            let current = now / window
            let key = RedisRateLimiter.keys(limit, subject: "p").limit
            _ = try await redis.send("HSET", .string(key), .string(String(current - 1)), .integer(20))
            let decision = try await limiter.check(limit, subject: "p")
            // Whether it passes depends on where in the window this second falls; each way, the
            // script must agree with the weighted estimate.
            let elapsed = Double(try await Self.redisMicroseconds(redis) - current * window)
            let estimate = 20 * (Double(window) - elapsed) / Double(window)
            if decision.allowed {
                #expect(estimate + 1 <= 10.01)
                #expect(abs(decision.remaining - Int((10 - estimate - 1).rounded(.down))) <= 1)
            } else {
                #expect(estimate + 1 > 9.99)
                let wait = Double(window) - elapsed - 9 * Double(window) / 20
                #expect(abs(Double(decision.retryAfterMicroseconds) - wait) < 50_000)
            }
        }
    }

    @Test func clientsOfSeveralInstancesShareOneBudget() async throws {
        let server = try await TestRedisServer()
        let limit = Self.limit(.tokenBucket, quota: 1, window: 60, burst: 4)
        let passed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await withClient(server.configuration) { client in
                        var passed = 0
                        for _ in 0..<4 where try await RedisRateLimiter(redis: client).check(limit, subject: "x").allowed {
                            passed += 1
                        }
                        return passed
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(passed == 4)
    }

    @Test func refusalUponRefusalBlocksTheSubjectOnEveryLimitOfItsScopeUntilLifted() async throws {
        try await withLimiter { limiter, redis in
            let blocking = RateLimitPolicy.Blocking(strikes: 3, withinSeconds: 10, blockSeconds: 2)
            let pages = RateLimit(name: "pages", scope: .clientIP, algorithm: .tokenBucket, quota: 1, windowSeconds: 60, burst: 1)
            let orders = RateLimit(name: "orders", scope: .clientIP, algorithm: .gcra, quota: 100, windowSeconds: 1, burst: 100)
            #expect(try await limiter.check(pages, subject: "1.2.3.4", blocking: blocking).allowed)
            var blocks: [RateLimitDecision.Block] = []
            for _ in 0..<3 { blocks.append(try await limiter.check(pages, subject: "1.2.3.4", blocking: blocking).block) }
            #expect(blocks == [.none, .none, .new])
            let elsewhere = try await limiter.check(orders, subject: "1.2.3.4", blocking: blocking)
            #expect(!elsewhere.allowed && elsewhere.block == .standing)
            #expect((1_000_000...2_000_000).contains(elsewhere.retryAfterMicroseconds))
            #expect(try await limiter.check(orders, subject: "1.2.3.5", blocking: blocking).allowed)
            let strikes = RedisRateLimiter.keys(pages, subject: "1.2.3.4").strikes
            #expect(try await redis.send("EXISTS", .string(strikes)) == .integer(0))
            // Refusals answered from memory, reported in a batch, count too.
            #expect(try await limiter.strike(pages, subject: "5.6.7.8", count: 2, blocking: blocking) == nil)
            #expect(try await limiter.strike(pages, subject: "5.6.7.8", count: 2, blocking: blocking)?.block == .new)
            #expect(try await limiter.strike(pages, subject: "5.6.7.8", count: 1, blocking: blocking)?.block == .standing)

            let blocked = ClientBlocks(redis: redis)
            #expect(Set(try await blocked.list().map(\.subject)) == ["client_ip:1.2.3.4", "client_ip:5.6.7.8"])
            #expect(try await blocked.lift("client_ip:1.2.3.4"))
            #expect(try await !blocked.lift("client_ip:1.2.3.4"))
            #expect(try await limiter.check(orders, subject: "1.2.3.4", blocking: blocking).allowed)
            await #expect(throws: ClientBlocks.UnknownSubject.self) { try await blocked.lift("route:everyone") }
        }
    }

    @Test func aBlockEndsByItselfAndRouteWideLimitsNeverBlock() async throws {
        try await withLimiter { limiter, _ in
            let blocking = RateLimitPolicy.Blocking(strikes: 1, withinSeconds: 10, blockSeconds: 0.3)
            let pages = RateLimit(name: "pages", scope: .shopper, algorithm: .gcra, quota: 10, windowSeconds: 1, burst: 1)
            let everyone = RateLimit(name: "all", scope: .route, algorithm: .tokenBucket, quota: 1, windowSeconds: 60, burst: 1)
            _ = try await limiter.check(pages, subject: "eve", blocking: blocking)
            let refused = try await limiter.check(pages, subject: "eve", blocking: blocking)
            #expect(refused.block == .new)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await limiter.check(pages, subject: "eve", blocking: blocking).allowed)
            var blocks: [RateLimitDecision.Block] = []
            for _ in 0..<4 { blocks.append(try await limiter.check(everyone, subject: "orders", blocking: blocking).block) }
            #expect(blocks == [.none, .none, .none, .none])
        }
    }

    /// Spends `count` requests that must all pass; what each left.
    static func spend(_ count: Int, of limit: RateLimit, subject: String, _ limiter: RedisRateLimiter) async throws -> [Int] {
        var remaining: [Int] = []
        for _ in 0..<count {
            let decision = try await limiter.check(limit, subject: subject)
            #expect(decision.allowed)
            remaining.append(decision.remaining)
        }
        return remaining
    }

    static func redisMicroseconds(_ redis: RedisClient) async throws -> Int64 {
        guard case .array(let parts) = try await redis.send("TIME"), parts.count == 2,
            case .bulk(let seconds) = parts[0], case .bulk(let micros) = parts[1],
            let s = Int64(String(decoding: seconds, as: UTF8.self)), let m = Int64(String(decoding: micros, as: UTF8.self))
        else { throw TestServerError.couldNotStart("TIME") }
        return s * 1_000_000 + m
    }
}
