import FlashSale
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import RedisClient
import Testing

/// A purchase whose process died between the Redis deduction and the PostgreSQL commit leaves a
/// ledger entry and a pending record; these tests plant exactly that, committed or not.
@Suite struct LedgerSweepTests {
    /// Deducts `quantity` in Redis for a fresh token of `shopper`, as the reserve script of a purchase
    /// does, and ages its ledger entry past the sweep's bound. Nothing is committed.
    func plantReservation(_ fixture: WorkerFixture, shopper: String, quantity: Int64) async throws -> String {
        let token = try await CheckoutTokens(redis: fixture.redis).issue(saleID: fixture.sale.id, shopperID: shopper)
        let reservation = try await StockReservations(redis: fixture.redis).reserve(
            saleID: fixture.sale.id, sku: fixture.sale.sku, token: token, shopperID: shopper, quantity: quantity,
            limit: fixture.sale.perShopperLimit, fingerprint: "\(fixture.sale.sku)\n\(quantity)")
        guard case .won = reservation else { throw TestFailure("reserve answered \(reservation)") }
        let time = try await fixture.redis.send("TIME").array?.first?.integer ?? 0
        _ = try await fixture.redis.send(
            "ZADD", .string(RedisKeys(saleID: fixture.sale.id).reservations), "XX", .integer(time - 60), .string(token))
        return token
    }

    @Test func unitsOfAPurchaseThatNeverCommittedGoBackAndItsTokenSaysSo() async throws {
        let sale = TestSale(stock: 10, perShopperLimit: 3)
        try await WorkerFixture.run(sale) { fixture in
            let token = try await plantReservation(fixture, shopper: "ghost", quantity: 3)
            #expect(try await fixture.redisStock() == 7)
            let fresh = try await CheckoutTokens(redis: fixture.redis).issue(saleID: sale.id, shopperID: "young")
            // A reservation younger than the bound belongs to a purchase that may still be running: left alone.
            let young = try await StockReservations(redis: fixture.redis).reserve(
                saleID: sale.id, sku: sale.sku, token: fresh, shopperID: "young", quantity: 1, limit: 3,
                fingerprint: "\(sale.sku)\n1")
            guard case .won(remaining: 6, _) = young else {
                Issue.record("expected a win leaving 6, got \(young)")
                return
            }
            var settings = WorkerFixture.quickSettings
            settings.ledgerAge = .seconds(30)
            try await fixture.whileRunning(fixture.worker(settings: settings)) {
                try await waitUntil("the stranded units came back") { try await fixture.redisStock() == 9 }
            }
            let keys = RedisKeys(saleID: sale.id)
            #expect(
                try await fixture.redis.send("ZRANGE", .string(keys.reservations), "0", "-1").array?.compactMap(\.string) == [
                    fresh
                ])
            #expect(try await fixture.redis.send("GET", .string(keys.bought(shopper: "ghost", sku: sale.sku))).isNull)
            let retry = await fixture.workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 3, token: token, shopperID: "ghost")
            guard case .replayRejected(.unavailable, let detail) = retry else {
                Issue.record("a retry of the token answered \(retry)")
                return
            }
            #expect(detail.contains("new checkout token"))
        }
    }

    @Test func aCommittedOrderWhoseAnswerWasNeverStoredIsFinalizedAndReplays() async throws {
        let sale = TestSale(stock: 10, perShopperLimit: 3)
        try await WorkerFixture.run(sale) { fixture in
            let token = try await plantReservation(fixture, shopper: "crashed", quantity: 2)
            // The commit went through; the process died before the 201 and the finalize.
            let order = try await OrderBatchWriter(connections: fixture.postgres, logger: WorkerFixture.logger).write([
                PendingOrder(
                    saleID: sale.id, sku: sale.sku, shopperID: "crashed", quantity: 2, amountCents: 2 * sale.priceCents,
                    checkoutToken: token, paymentWindowSeconds: 600)
            ])[0]
            #expect(
                await fixture.workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 2, token: token, shopperID: "crashed")
                    == .rejected(.requestInProgress, detail: "a request with this checkout token is still running"))
            try await fixture.whileRunning(fixture.worker()) {
                try await waitUntil("the ledger entry was settled") {
                    try await fixture.redis.send("ZCARD", .string(RedisKeys(saleID: sale.id).reservations)).integer == 0
                }
            }
            let replay = await fixture.workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 2, token: token, shopperID: "crashed")
            #expect(replay == .replayCreated(body: OrderDocument.encode(order)))
            #expect(try await fixture.redisStock() == 8, "the units stay sold")
            #expect(try await fixture.available() == 8)
            #expect(try await fixture.reconcile().isClean)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
