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
        // The write is lost after it reached PostgreSQL, and PostgreSQL cannot be asked after.
        try await WorkflowFixture.run(sale, orderWrites: { FlakyConnections(pool: $1, faults: [.replyLost, .neverSent]) }) {
            workflow, redis, postgres in
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
        }
    }
}
