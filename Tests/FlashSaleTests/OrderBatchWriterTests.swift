import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("OrderBatchWriter: optimistic writes with a remembered version")
struct OrderBatchWriterTests {
    static func pending(_ count: Int, token: String) -> [PendingOrder] {
        (0..<count).map {
            PendingOrder(
                saleID: "w", sku: "a", shopperID: "s\($0)", quantity: 1, amountCents: 100,
                checkoutToken: "\(token)-\($0)", paymentWindowSeconds: 600)
        }
    }

    @Test func aStaleExpectedVersionIsReReadAndAShortStockIsRefused() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await postgres.query(
                "INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('w', 'W', now(), now() + interval '1 hour')",
                logger: TestDatabase.logger)
            try await postgres.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                VALUES ('w', 'a', 'A', 100, 10, 10, 5)
                """, logger: TestDatabase.logger)
            let writer = OrderBatchWriter(postgres: postgres, logger: TestDatabase.logger)

            let stale = try await writer.write(Self.pending(3, token: "t1"), expectedVersion: 41)
            #expect(stale.orders.count == 3)
            #expect(stale.version == 1)
            let known = try await writer.write(Self.pending(2, token: "t2"), expectedVersion: stale.version)
            #expect(known.version == 2)
            await #expect(throws: OrderBatchWriter.WriteError.stockOfRecordShort(sku: "a", available: 5, requested: 6)) {
                _ = try await writer.write(Self.pending(6, token: "t3"), expectedVersion: known.version)
            }
            let row = try await postgres.query(
                "SELECT available::bigint, version, (SELECT count(*) FROM orders) FROM inventory", logger: TestDatabase.logger
            ).decode((Int64, Int64, Int64).self).collectAll()
            #expect(row.first?.0 == 5)
            #expect(row.first?.1 == 2)
            #expect(row.first?.2 == 5)
        }
    }
}
