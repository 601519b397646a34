import FlashSale
import FlashSaleTestSupport
import Foundation
import RedisClient
import Testing

/// Once a SKU sells out, attempts with tokens issued after that are answered 409 sold_out without
/// Redis; units given back (here or on another instance) can be won again.
@Suite struct SoldOutShortCircuitTests {
    /// A token issued for `shopper` late enough to be answered from memory: the short circuit
    /// trusts only tokens issued more than its clock margin after the sell-out.
    static func lateToken(_ harness: PurchaseHarness, shopper: String, soldOutAt: Int64) async throws -> String {
        while CheckoutTokens.unixNow() < soldOutAt + 1 { try await Task.sleep(for: .milliseconds(100)) }
        return try await CheckoutTokens(redis: harness.redis).issue(
            saleID: harness.sale.id, shopperID: shopper, unixSeconds: soldOutAt + SoldOutSKUs.clockMargin + 1)
    }

    @Test func soldOutIsAnsweredWithoutRedisAndAReleasedUnitSellsAgain() async throws {
        try await PurchaseHarness.run(TestSale(stock: 1), instances: 2) { harness in
            let first = try await harness.order(shopper: "ann", token: try await harness.checkoutToken(for: "ann"))
            #expect(first.status == 201)
            let orderID = try #require(first.json["order_id"] as? String)
            let soldOutAt = CheckoutTokens.unixNow()
            var tokens: [String] = []
            for index in 0..<20 {
                tokens.append(try await Self.lateToken(harness, shopper: "late\(index)", soldOutAt: soldOutAt))
            }

            let before = try await RedisCommandStats.calls(harness.redis)
            let started = ContinuousClock.now
            for (index, token) in tokens.enumerated() {
                let reply = try await harness.order(shopper: "late\(index)", token: token)
                #expect(reply.status == 409)
                #expect(reply.code == "sold_out")
            }
            let elapsed = ContinuousClock.now - started
            let after = try await RedisCommandStats.calls(harness.redis)
            // No purchase script ran; at most one look at the stock per recheck interval did.
            #expect(
                after["evalsha", default: 0] + after["eval", default: 0] == before["evalsha", default: 0]
                    + before["eval", default: 0])
            let looks = after["mget", default: 0] - before["mget", default: 0]
            #expect(looks <= Int(elapsed / SoldOutSKUs.recheckInterval) + 1)

            // Ann cancels on instance 1: its unit is back; instance 0 sees it at its next look.
            let cancel = try await harness.request(.POST, "/v1/orders/\(orderID)/cancel", shopper: "ann", instance: 1)
            #expect(cancel.status == 200)
            try await Task.sleep(for: SoldOutSKUs.recheckInterval + .milliseconds(20))
            let bo = try await Self.lateToken(harness, shopper: "bo", soldOutAt: soldOutAt)
            let won = try await harness.order(shopper: "bo", token: bo)
            #expect(won.status == 201, "\(won.text)")
            #expect(try await harness.redisStock() == 0)
            let stock = try await harness.postgresStock()
            #expect(stock.available == 0 && stock.ordered == 1)
        }
    }

    @Test func aUnitGivenBackOnThisInstanceSellsAtOnce() async throws {
        try await PurchaseHarness.run(TestSale(stock: 1)) { harness in
            let first = try await harness.order(shopper: "cy", token: try await harness.checkoutToken(for: "cy"))
            let orderID = try #require(first.json["order_id"] as? String)
            let soldOutAt = CheckoutTokens.unixNow()
            let refused = try await harness.order(
                shopper: "di", token: try await Self.lateToken(harness, shopper: "di", soldOutAt: soldOutAt))
            #expect(refused.code == "sold_out")
            #expect(try await harness.request(.POST, "/v1/orders/\(orderID)/cancel", shopper: "cy").status == 200)
            let won = try await harness.order(
                shopper: "ed", token: try await Self.lateToken(harness, shopper: "ed", soldOutAt: soldOutAt))
            #expect(won.status == 201, "\(won.text)")
        }
    }

    @Test func aRetriedTokenThatWonIsReplayedNotShortCircuited() async throws {
        try await PurchaseHarness.run(TestSale(stock: 1)) { harness in
            let token = try await harness.checkoutToken(for: "fay")
            let first = try await harness.order(shopper: "fay", token: token)
            #expect(first.status == 201)
            while CheckoutTokens.unixNow() < CheckoutTokens.issuedAt(token)! + SoldOutSKUs.clockMargin + 2 {
                try await Task.sleep(for: .milliseconds(100))
            }
            let retry = try await harness.order(shopper: "fay", token: token)
            #expect(retry.status == 201)
            #expect(retry.json["order_id"] as? String == first.json["order_id"] as? String)
        }
    }
}
