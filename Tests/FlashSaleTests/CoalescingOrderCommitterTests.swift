import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("CoalescingOrderCommitter: group commit per SKU")
struct CoalescingOrderCommitterTests {
    static func order(_ index: Int) -> PendingOrder {
        PendingOrder(
            saleID: "c", sku: "a", shopperID: "s\(index)", quantity: 1, amountCents: 100,
            checkoutToken: "c-\(index)", paymentWindowSeconds: 600)
    }

    /// The committer keeps each SKU's version between flushers; when another writer (a cancellation,
    /// another instance) moved the row in between, the remembered version is stale and must cost a
    /// re-read, never a lost or doubled order.
    @Test func aVersionMovedByAnotherWriterBetweenFlushersIsReRead() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await postgres.query(
                "INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('c', 'C', now(), now() + interval '1 hour')",
                logger: TestDatabase.logger)
            try await postgres.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                VALUES ('c', 'a', 'A', 100, 100, 98, 5)
                """, logger: TestDatabase.logger)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(postgres: postgres, logger: TestDatabase.logger))

            _ = try await committer.commit(Self.order(0))
            // Another writer gives 2 units back (sold before this test) and moves the version, as a
            // cancellation does.
            try await postgres.query(
                "UPDATE inventory SET available = available + 2, version = version + 1 WHERE sale_id = 'c'",
                logger: TestDatabase.logger)
            _ = try await committer.commit(Self.order(1))
            // Concurrent orders after that: batches that start from the version the last one left.
            try await withThrowingTaskGroup(of: Order.self) { group in
                for index in 2..<22 { group.addTask { try await committer.commit(Self.order(index)) } }
                for try await order in group { #expect(order.status == .reserved) }
            }

            let row = try await postgres.query(
                "SELECT available::bigint, version, (SELECT count(*) FROM orders WHERE sale_id = 'c') FROM inventory",
                logger: TestDatabase.logger
            ).decode((Int64, Int64, Int64).self).collectAll()
            let available: Int64 = 98 + 2 - 22
            #expect(row.first?.0 == available)
            #expect(row.first?.2 == 22)
            #expect((row.first?.1 ?? 0) >= 3)
        }
    }
}
