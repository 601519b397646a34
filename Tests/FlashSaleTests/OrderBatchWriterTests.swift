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

    /// The per-shopper limit of record (`shopper_units`): a batch that would take a shopper past it
    /// writes nothing, and the group committer then writes the batch's other orders one by one and
    /// refuses only the offender.
    @Test func aBatchOverAShoppersLimitOfRecordWritesOnlyTheOrdersWithinIt() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let sale = TestSale(id: "l", sku: "a", stock: 10, perShopperLimit: 2)
            try await sale.createInPostgres(postgres)
            let writer = OrderBatchWriter(connections: postgres, logger: TestDatabase.logger)
            func order(_ shopper: String, _ token: String, quantity: Int64 = 1) -> PendingOrder {
                PendingOrder(
                    saleID: sale.id, sku: sale.sku, shopperID: shopper, quantity: quantity, amountCents: 1,
                    checkoutToken: token, paymentWindowSeconds: 600)
            }
            _ = try await writer.write([order("pat", "p1"), order("pat", "p2")])
            await #expect(throws: OrderBatchWriter.WriteError.perShopperLimitOfRecord(sku: "a")) {
                _ = try await writer.write([order("sam", "s1"), order("pat", "p3")])
            }
            await #expect(throws: OrderBatchWriter.WriteError.perShopperLimitOfRecord(sku: "a")) {
                _ = try await writer.write([order("kim", "k1", quantity: 3)])
            }

            let committer = CoalescingOrderCommitter(writer: writer)
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for (shopper, token) in [("sam", "s2"), ("pat", "p4"), ("kim", "k2")] {
                    group.addTask { (token, (try? await committer.commit(order(shopper, token))) != nil) }
                }
                return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes == ["s2": true, "p4": false, "k2": true])
            let held = try await postgres.query(
                "SELECT shopper_id, units::bigint FROM shopper_units ORDER BY shopper_id", logger: TestDatabase.logger
            ).decode((String, Int64).self).collectAll()
            #expect(held.map(\.0) == ["kim", "pat", "sam"])
            #expect(held.map(\.1) == [1, 2, 1])
            let available = try await postgres.query(
                "SELECT available::bigint FROM inventory", logger: TestDatabase.logger
            ).decode(Int64.self).collectAll()
            #expect(available == [6])
        }
    }
}
