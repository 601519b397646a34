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

    /// Past its write window an order is not written, alone or queued behind others: the worker's
    /// ledger sweep may be giving its units back in Redis by then.
    @Test func anOrderPastItsWriteWindowIsNotWritten() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await Self.sale.createInPostgres(postgres)
            let writer = OrderBatchWriter(connections: postgres, logger: TestDatabase.logger)
            let late = Self.pending(2, token: "late").map {
                PendingOrder(
                    saleID: $0.saleID, sku: $0.sku, shopperID: $0.shopperID, quantity: 1, amountCents: 1,
                    checkoutToken: $0.checkoutToken, paymentWindowSeconds: 600, writeBy: .now - .milliseconds(1))
            }
            await #expect(throws: OrderBatchWriter.WriteError.writeWindowPassed) {
                _ = try await writer.write(late + Self.pending(1, token: "fresh"))
            }
            let committer = CoalescingOrderCommitter(writer: writer)
            await #expect(throws: OrderBatchWriter.WriteError.writeWindowPassed) { _ = try await committer.commit(late[0]) }
            #expect(try await committer.commit(Self.pending(1, token: "on-time")[0]).quantity == 1)
            let rows = try await postgres.query(
                "SELECT checkout_token FROM orders", logger: TestDatabase.logger
            ).decode(String.self).collectAll()
            #expect(rows == ["on-time-0"])
        }
    }
}
