import FlashSale
import FlashSaleTestSupport
import Foundation
import Logging
import PostgresNIO
import RedisClient
import Testing

@Suite("PurchaseWorkflow: an order whose outcome is unknown keeps its units")
struct PurchaseOutcomeUnknownTests {
    /// PostgreSQL may hold the order, so the units must not go back to Redis (they would be sold
    /// twice); the ledger entry stays for the sweep, and the token's record stays pending.
    @Test func theUnitsStayReservedAndARetryHearsInProgress() async throws {
        let sale = TestSale(stock: 5, perShopperLimit: 2)
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let redisServer = try await TestRedisServer()
            let redis = RedisClient(configuration: redisServer.configuration)
            try await sale.create(postgres: postgres, redis: redis)
            // The write is lost after it reached PostgreSQL, and PostgreSQL cannot be asked after.
            let connections = FlakyConnections(pool: postgres, faults: [.replyLost, .neverSent])
            let workflow = PurchaseWorkflow(
                catalog: SaleCatalog(repository: SaleRepository(postgres: postgres, logger: TestDatabase.logger)),
                reservations: StockReservations(redis: redis),
                committer: CoalescingOrderCommitter(
                    writer: OrderBatchWriter(connections: connections, logger: TestDatabase.logger)),
                logger: TestDatabase.logger)
            let token = try await CheckoutTokens(redis: redis).issue(saleID: sale.id, shopperID: "dana")
            func buy() async -> PurchaseOutcome {
                await workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: "dana")
            }

            guard case .rejected(.unavailable, let detail) = await buy() else {
                Issue.record("expected 503 unavailable")
                return
            }
            #expect(detail.contains("could not confirm"))
            let keys = RedisKeys(saleID: sale.id)
            #expect(try await redis.send("GET", .string(keys.stock(sale.sku))).integer == 4)
            #expect(try await redis.send("ZCARD", .string(keys.reservations)).integer == 1)
            guard case .rejected(.requestInProgress, _) = await buy() else {
                Issue.record("expected 409 request_in_progress for the same token")
                return
            }
            // And PostgreSQL does hold it: giving the unit back would have sold it twice.
            let orders = try await postgres.query("SELECT count(*) FROM orders", logger: TestDatabase.logger)
                .decode(Int64.self).collectAll()
            #expect(orders == [1])
            await redis.close()
        }
    }
}
