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
        try await Self.buyWhileHeld(
            "SELECT 1 FROM inventory WHERE sale_id = $1 AND sku = $2 FOR UPDATE", buyers: 3)
    }

    /// The same while a whole table is held, so that the lock comes while the connection's first
    /// write prepares its statement: postgres-nio keeps that failure as the statement's for good,
    /// so the connection must be replaced for the writes after the lock to succeed.
    @Test(.timeLimit(.minutes(1)))
    func aLockDuringTheFirstPrepareDoesNotSpoilTheConnection() async throws {
        try await Self.buyWhileHeld("LOCK TABLE orders IN SHARE MODE", buyers: 1)
    }

    /// Runs `lock` (with the sale and SKU as $1 and $2, when it has them) in a transaction held
    /// while `buyers` winners buy at once: all hear 503 with their units back, nothing is written,
    /// and once the lock is gone a new token buys.
    private static func buyWhileHeld(_ lock: String, buyers count: Int) async throws {
        let sale = TestSale(stock: 5, perShopperLimit: 1)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lanes = Mutex<OrderWriteConnections?>(nil)
        try await WorkflowFixture.run(
            sale,
            orderWrites: { url, _ in
                let connections = OrderWriteConnections(
                    database: url, eventLoopGroup: group, lockTimeout: .milliseconds(300),
                    closeAfter: .seconds(5), logger: TestDatabase.logger)
                lanes.withLock { $0 = connections }
                return connections
            }
        ) { workflow, redis, postgres in
            let buyers = try await WorkflowFixture.buyers(count, of: sale, redis: redis)
            let outcomes = try await postgres.withTransaction(logger: TestDatabase.logger) { holder in
                var bindings = PostgresBindings()
                if lock.contains("$1") {
                    bindings.append(sale.id)
                    bindings.append(sale.sku)
                }
                try await holder.query(PostgresQuery(unsafeSQL: lock, binds: bindings), logger: TestDatabase.logger)
                return await WorkflowFixture.buyAtOnce(buyers, of: sale, with: workflow)
            }
            try await WorkflowFixture.expectAllRefusedWithUnitsBack(outcomes, count: count, of: sale, redis: redis)
            // The lock is gone: nothing was written behind it, and a new token buys.
            let orders = try await postgres.query(
                "SELECT count(*)::bigint FROM orders WHERE sale_id = \(sale.id)", logger: TestDatabase.logger
            ).decode(Int64.self).collectAll()
            #expect(orders == [0])
            let again = try await CheckoutTokens(redis: redis).issue(saleID: sale.id, shopperID: buyers[0].shopper)
            let outcome = await workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 1, token: again, shopperID: buyers[0].shopper)
            guard case .created = outcome else {
                Issue.record("expected a purchase to commit once the lock is gone, got \(outcome)")
                return
            }
        }
        await lanes.withLock { $0 }?.close()
        try await group.shutdownGracefully()
    }
}
