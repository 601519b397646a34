import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("OrderBatchWriter: optimistic writes with a remembered version")
struct OrderBatchWriterTests {
    static let sale = TestSale(id: "w", sku: "a", stock: 10)

    static func pending(_ count: Int, token: String) -> [PendingOrder] {
        sale.pendingOrders(0..<count, tokenPrefix: token)
    }

    @Test func aStaleExpectedVersionIsReReadAndAShortStockIsRefused() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await Self.sale.createInPostgres(postgres)
            let writer = OrderBatchWriter(connections: postgres, logger: TestDatabase.logger)

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
