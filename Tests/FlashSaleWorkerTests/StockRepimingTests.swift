import FlashSale
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import RedisClient
import Testing

@Suite struct StockRepimingTests {
    /// Redis restarts empty mid-sale: purchases answer 503 until the worker, unasked, rebuilds the
    /// sale from PostgreSQL. A cancel whose Redis release is still queued (and whose marker went
    /// with the data) is counted once: the rebuild leaves its units out, the release adds them.
    @Test func aSaleWhoseRedisLostItsDataIsRebuiltWithoutCountingAQueuedReleaseTwice() async throws {
        let sale = TestSale(stock: 20, perShopperLimit: 2)
        try await WorkerFixture.run(sale) { fixture in
            let orders = try await fixture.buy(4)
            let cancellation = OrderCancellation(
                postgres: fixture.postgres, reservations: StockReservations(redis: fixture.redis), logger: WorkerFixture.logger)
            #expect(try await cancellation.cancel(orderID: orders[0], shopperID: "shopper-0").status == 200)
            #expect(try await fixture.available() == 17)
            // The release ran, but the job that guards it is still queued when Redis loses everything.
            try await fixture.postgres.query(
                "INSERT INTO jobs (kind, payload, dedupe_key) SELECT 'redis_release', jsonb_build_object('order_id', id::text, 'sale_id', sale_id, 'sku', sku, 'shopper_id', shopper_id, 'quantity', quantity), 'redis_release:' || id FROM orders WHERE status = 'cancelled'",
                logger: WorkerFixture.logger)
            _ = try await fixture.redis.send("FLUSHALL")

            let token = try await CheckoutTokens(redis: fixture.redis).issue(saleID: sale.id, shopperID: "late")
            #expect(
                await fixture.workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: "late")
                    == .rejected(.unavailable, detail: "stock for \(sale.sku) is being restored; try again shortly"))

            try await fixture.whileRunning(fixture.worker()) {
                try await waitUntil("the sale is back in Redis and the queued release ran") {
                    let stock = try await fixture.redisStock()
                    return try await (stock, fixture.jobs(kind: "redis_release", status: "pending")) == (17, 0)
                }
                // Another round of every chore: nothing moves.
                try await Task.sleep(for: .milliseconds(600))
            }
            #expect(try await fixture.redisStock() == 17)
            let keys = RedisKeys(saleID: sale.id)
            #expect(try await fixture.redis.send("GET", .string(keys.bought(shopper: "shopper-0", sku: sale.sku))).isNull)
            #expect(try await fixture.redis.send("GET", .string(keys.bought(shopper: "shopper-3", sku: sale.sku))).integer == 1)
            #expect(try await fixture.reconcile().isClean)

            let again = try await CheckoutTokens(redis: fixture.redis).issue(saleID: sale.id, shopperID: "late")
            let outcome = await fixture.workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 1, token: again, shopperID: "late")
            guard case .created = outcome else {
                Issue.record("a purchase after the rebuild answered \(outcome)")
                return
            }
            #expect(try await fixture.redisStock() == 16)
        }
    }

    @Test func oneWorkerAtATimeRebuildsASale() async throws {
        let sale = TestSale(stock: 5)
        try await WorkerFixture.run(sale) { fixture in
            let keys = RedisKeys(saleID: sale.id)
            _ = try await fixture.redis.send("FLUSHALL")
            _ = try await fixture.redis.send("SET", .string(keys.priming), "another-worker", "EX", "60")
            try await fixture.whileRunning(fixture.worker()) {
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await fixture.redisStock() == nil, "left to the lock's holder")
                _ = try await fixture.redis.send("DEL", .string(keys.priming))
                try await waitUntil("rebuilt once the lock was free") { try await fixture.redisStock() == 5 }
            }
            #expect(try await fixture.redis.send("EXISTS", .string(keys.primed)).integer == 1)
        }
    }
}
