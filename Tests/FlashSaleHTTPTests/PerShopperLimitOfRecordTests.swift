import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Testing

/// Invariant 3 held by PostgreSQL as well as Redis: when Redis' bought counts are lost or wrong,
/// the stock of record still refuses a shopper past the limit, and gives the units back.
@Suite("The per-shopper limit in the stock of record")
struct PerShopperLimitOfRecordTests {
    static func unitsInPostgres(_ harness: PurchaseHarness) async throws -> [String: Int64] {
        let rows = try await harness.postgres.query(
            """
            SELECT shopper_id, sum(quantity)::bigint FROM orders
            WHERE sale_id = \(harness.sale.id) AND status NOT IN ('cancelled', 'expired') GROUP BY shopper_id
            """, logger: PurchaseHarness.logger
        ).decode((String, Int64).self).collectAll()
        return Dictionary(uniqueKeysWithValues: rows)
    }

    @Test func aShopperWhoseRedisCountWasLostCannotBuyTheLimitAgain() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10, perShopperLimit: 2)) { harness in
            for _ in 0..<2 {
                let reply = try await harness.order(shopper: "pat", token: try await harness.checkoutToken(for: "pat"))
                #expect(reply.status == 201, "\(reply.text)")
            }
            let bought = RedisKeys(saleID: harness.sale.id).bought(shopper: "pat", sku: harness.sale.sku)
            _ = try await harness.redis.send("DEL", .string(bought))

            let third = try await harness.order(shopper: "pat", token: try await harness.checkoutToken(for: "pat"))
            #expect(third.status == 409)
            #expect(third.code == "purchase_limit", "\(third.text)")
            #expect(try await Self.unitsInPostgres(harness) == ["pat": 2])
            // The unit Redis handed out for the refused order is back on sale.
            let stock = try await harness.postgresStock()
            #expect(stock.available == 8)
            #expect(try await harness.redisStock() == 8)
        }
    }

    /// Shoppers buy with fresh tokens while their Redis counts keep vanishing: Redis lets every
    /// attempt through, so only PostgreSQL stands between them and the limit.
    @Test func concurrentBuyersWhoseRedisCountsKeepVanishingStayWithinTheLimit() async throws {
        try await PurchaseHarness.run(TestSale(stock: 100, perShopperLimit: 2)) { harness in
            let shoppers = (0..<6).map { "shopper-\($0)" }
            let keys = RedisKeys(saleID: harness.sale.id)
            let done = Tally()
            async let forgetting: Void = {
                while done.count.withLock({ $0 }) == 0 {
                    for shopper in shoppers {
                        _ = try await harness.redis.send("DEL", .string(keys.bought(shopper: shopper, sku: harness.sale.sku)))
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }()
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for attempt in 0..<60 {
                    group.addTask {
                        let shopper = shoppers[attempt % shoppers.count]
                        let reply = try await harness.order(
                            shopper: shopper, token: try await harness.checkoutToken(for: shopper))
                        return "\(reply.status) \(reply.code ?? "")"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            done.count.withLock { $0 = 1 }
            try await forgetting

            #expect(Set(answers.keys).isSubset(of: ["201 ", "409 purchase_limit"]), "\(answers)")
            #expect(answers["201 "] == 12, "\(answers)")
            let held = try await Self.unitsInPostgres(harness)
            #expect(held.values.allSatisfy { $0 == 2 }, "\(held)")
            #expect(held.count == shoppers.count)
            let stock = try await harness.postgresStock()
            #expect(stock.available + stock.ordered == harness.sale.stock)
            #expect(try await harness.redisStock() == stock.available)
        }
    }

    /// A cancel takes the units off the shopper's count of record too, or the shopper could never
    /// buy again what they gave back.
    @Test func aCancelledOrderFreesTheShoppersUnitsOfRecord() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10, perShopperLimit: 2)) { harness in
            var ids: [String] = []
            for _ in 0..<2 {
                let reply = try await harness.order(shopper: "pat", token: try await harness.checkoutToken(for: "pat"))
                #expect(reply.status == 201, "\(reply.text)")
                ids.append(reply.json["order_id"] as? String ?? "")
            }
            let cancel = try await harness.request(.POST, "/v1/orders/\(ids[0])/cancel", shopper: "pat")
            #expect(cancel.status == 200, "\(cancel.text)")
            let again = try await harness.order(shopper: "pat", token: try await harness.checkoutToken(for: "pat"))
            #expect(again.status == 201, "\(again.text)")
            let units = try await harness.postgres.query(
                "SELECT units::bigint FROM shopper_units WHERE shopper_id = 'pat'", logger: PurchaseHarness.logger
            ).decode(Int64.self).collectAll()
            #expect(units == [2])
        }
    }
}
