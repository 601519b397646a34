import FlashSale
import FlashSaleTestSupport
import Foundation
import RedisClient
import Testing

/// Redis at its `maxmemory` with `noeviction` refuses writes: the service must answer that as
/// 503 unavailable (try again), never as sold out or a lost order, and lose nothing meanwhile.
@Suite("Redis out of memory")
struct RedisOutOfMemoryTests {
    @Test func refusedWritesAre503AndTheSamePurchaseSucceedsOnceRedisHasRoom() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5, perShopperLimit: 2)) { harness in
            let token = try await harness.checkoutToken(for: "pat")
            _ = try await harness.redis.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
            _ = try await harness.redis.send("CONFIG", "SET", "maxmemory", "1")

            let tokenRefused = try await harness.request(.POST, "/v1/sales/\(harness.sale.id)/checkout-tokens", shopper: "sam")
            #expect(tokenRefused.status == 503, "\(tokenRefused.text)")
            #expect(tokenRefused.code == "unavailable")
            let orderRefused = try await harness.order(shopper: "pat", token: token)
            #expect(orderRefused.status == 503, "\(orderRefused.text)")
            #expect(orderRefused.code == "unavailable")
            // Reads still answer from Redis.
            let item = try await harness.request(.GET, "/v1/sales/\(harness.sale.id)/items/\(harness.sale.sku)")
            #expect(item.status == 200)
            #expect(item.json["available"] as? Int == 5)
            #expect(try await harness.postgresStock().orders == 0)
            #expect(try await harness.redisStock() == 5)

            _ = try await harness.redis.send("CONFIG", "SET", "maxmemory", "0")
            let accepted = try await harness.order(shopper: "pat", token: token)
            #expect(accepted.status == 201, "\(accepted.text)")
            #expect(try await harness.postgresStock().orders == 1)
            #expect(try await harness.redisStock() == 4)
        }
    }
}
