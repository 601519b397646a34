import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("CoalescingOrderCommitter: group commit per SKU")
struct CoalescingOrderCommitterTests {
    /// The committer keeps each SKU's version between flushers; when another writer (a cancellation,
    /// another instance) moved the row in between, the remembered version is stale and must cost a
    /// re-read, never a lost or doubled order.
    @Test func aVersionMovedByAnotherWriterBetweenFlushersIsReRead() async throws {
        let sale = TestSale(id: "c", sku: "a", stock: 100)
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await sale.createInPostgres(postgres)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(connections: postgres, logger: TestDatabase.logger))

            let orders = sale.pendingOrders(0..<22, tokenPrefix: "c")

            _ = try await committer.commit(orders[0])
            // Another writer takes 2 units and moves the version, as another instance's batch does.
            try await postgres.query(
                "UPDATE inventory SET available = available - 2, version = version + 1 WHERE sale_id = 'c'",
                logger: TestDatabase.logger)
            _ = try await committer.commit(orders[1])
            // Concurrent orders after that: batches that start from the version the last one left.
            try await withThrowingTaskGroup(of: Order.self) { group in
                for order in orders[2...] { group.addTask { try await committer.commit(order) } }
                for try await order in group { #expect(order.status == .reserved) }
            }

            let row = try await postgres.query(
                "SELECT available::bigint, version, (SELECT count(*) FROM orders WHERE sale_id = 'c') FROM inventory",
                logger: TestDatabase.logger
            ).decode((Int64, Int64, Int64).self).collectAll()
            let available: Int64 = 100 - 2 - 22
            #expect(row.first?.0 == available)
            #expect(row.first?.2 == 22)
            #expect((row.first?.1 ?? 0) >= 3)
        }
    }
}
