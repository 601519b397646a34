import FlashSale
import FlashSaleTestSupport
import Foundation
import NIOPosix
import PostgresNIO
import RedisClient
import Synchronization
import Testing

@Suite("PurchaseWorkflow: a write that waits too long for the stock row gives the units back")
struct PurchaseBehindALockedRowTests {
    /// Someone holds the inventory row (an operator's transaction, say) past the order writes'
    /// lock timeout: PostgreSQL refuses the waiting write, nothing is written, and every winner is
    /// answered 503 with its units back, instead of an outcome nobody can tell until a sweep.
    @Test(.timeLimit(.minutes(1)))
    func winnersBehindAHeldRowAreAnswered503WithTheirUnitsBack() async throws {
        let sale = TestSale(stock: 5, perShopperLimit: 1)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lanes = Mutex<OrderWriteConnections?>(nil)
        try await WorkflowFixture.run(
            sale,
            orderWrites: { url, _ in
                let connections = OrderWriteConnections(
                    database: url, eventLoopGroup: group, lockTimeout: .milliseconds(300),
                    statementTimeout: .seconds(5), logger: TestDatabase.logger)
                lanes.withLock { $0 = connections }
                return connections
            }
        ) { workflow, redis, postgres in
            let buyers = try await WorkflowFixture.buyers(3, of: sale, redis: redis)
            let outcomes = try await postgres.withTransaction(logger: TestDatabase.logger) { holder in
                try await holder.query(
                    "SELECT 1 FROM inventory WHERE sale_id = \(sale.id) AND sku = \(sale.sku) FOR UPDATE",
                    logger: TestDatabase.logger)
                return await WorkflowFixture.buyAtOnce(buyers, of: sale, with: workflow)
            }
            try await WorkflowFixture.expectAllRefusedWithUnitsBack(outcomes, count: 3, of: sale, redis: redis)
            // The row is free again: nothing was written behind it, and a new token buys.
            let orders = try await postgres.query(
                "SELECT count(*)::bigint FROM orders WHERE sale_id = \(sale.id)", logger: TestDatabase.logger
            ).decode(Int64.self).collectAll()
            #expect(orders == [0])
            let again = try await CheckoutTokens(redis: redis).issue(saleID: sale.id, shopperID: buyers[0].shopper)
            guard case .created = await workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 1, token: again, shopperID: buyers[0].shopper)
            else {
                Issue.record("expected a purchase to commit once the row is free")
                return
            }
        }
        await lanes.withLock { $0 }?.close()
        try await group.shutdownGracefully()
    }
}
