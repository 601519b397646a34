import FlashSale
import FlashSaleTestSupport
import Testing

/// `flashsale blocks`: an operator sees the blocked clients and lifts a block.
@Suite struct BlocksCommandTests {
    @Test func listsBlockedClientsAndLiftsOne() async throws {
        try await OperatorStores.with { stores in
            let none = try await stores.flashsale(["blocks"])
            #expect(none.status == 0, "\(none.errors)")
            #expect(none.output.contains("no client is blocked"))

            let limiter = RedisRateLimiter(redis: stores.redis)
            let limit = RateLimit(name: "pages", scope: .clientIP, algorithm: .gcra, quota: 1, windowSeconds: 60, burst: 1)
            let blocking = RateLimitPolicy.Blocking(strikes: 1, withinSeconds: 10, blockSeconds: 120)
            _ = try await limiter.check(limit, subject: "203.0.113.9", blocking: blocking)
            #expect(try await limiter.check(limit, subject: "203.0.113.9", blocking: blocking).block == .new)

            let listed = try await stores.flashsale(["blocks", "list"])
            #expect(listed.status == 0, "\(listed.errors)")
            #expect(listed.output.contains("client_ip:203.0.113.9"))

            let lifted = try await stores.flashsale(["blocks", "lift", "client_ip:203.0.113.9"])
            #expect(lifted.status == 0, "\(lifted.errors)")
            #expect(lifted.output.contains("lifted the block of client_ip:203.0.113.9"))
            #expect(try await stores.flashsale(["blocks"]).output.contains("no client is blocked"))
            #expect(try await stores.flashsale(["blocks", "lift", "client_ip:203.0.113.9"]).output.contains("was not blocked"))

            let wrong = try await stores.flashsale(["blocks", "lift", "203.0.113.9"])
            #expect(wrong.status == 64)
            #expect(wrong.errors.contains("client_ip:<address> or shopper:<id>"))
        }
    }
}
