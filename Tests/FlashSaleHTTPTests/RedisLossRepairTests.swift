import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Synchronization
import Testing

/// Counts across tasks.
final class Tally: Sendable {
    let count = Mutex(0)
}

@Suite("Redis loses a live sale mid-sale; reconcile --repair rebuilds it and selling goes on")
struct RedisLossRepairTests {
    /// Shoppers buy one unit per token, fetching a new token when theirs was lost with Redis.
    static func buy(_ harness: PurchaseHarness, shoppers: Range<Int>, created: Tally) async throws -> [String: Int] {
        try await withThrowingTaskGroup(of: String.self) { group in
            for shopper in shoppers {
                group.addTask {
                    let name = "shopper-\(shopper % 150)"
                    let token = try await harness.checkoutToken(for: name)
                    let reply = try await harness.order(shopper: name, token: token)
                    if reply.status == 201 { created.count.withLock { $0 += 1 } }
                    return "\(reply.status) \(reply.code ?? "")"
                }
            }
            return try await group.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        }
    }

    @Test func everyKeyDeletedMidSaleThenRepairedSellsOutWithoutOversell() async throws {
        try await PurchaseHarness.run(TestSale(stock: 200, perShopperLimit: 2)) { harness in
            let created = Tally()
            let keys = RedisKeys(saleID: harness.sale.id)
            // Phase 1: 250 attempts; once some orders are in, every key of the sale is deleted.
            async let firstPhase = Self.buy(harness, shoppers: 0..<250, created: created)
            try await eventually {
                guard try await harness.postgresStock().orders >= 20 else { throw HarnessError.unexpected("waiting") }
            }
            let deleted = try await Self.deleteEverything(keys.prefix, harness.redis)
            #expect(deleted > 0)
            let first = try await firstPhase
            // After the loss, purchases cannot sell: their tokens are gone, or the stock is.
            #expect(
                Set(first.keys).isSubset(of: [
                    "201 ", "409 sold_out", "409 purchase_limit", "422 invalid_token", "503 unavailable",
                ]), "\(first)")

            let report = try await StockReconciler(
                postgres: harness.postgres, redis: harness.redis, logger: PurchaseHarness.logger
            )
            .run(saleID: harness.sale.id, mode: .repair)
            #expect(report.busySKUs.isEmpty)
            let (available, ordered, orders) = try await harness.postgresStock()
            #expect(try await harness.redisStock() == available)

            // Per-shopper counts came back from PostgreSQL: a shopper at the limit stays there.
            let atLimit = try await harness.postgres.query(
                """
                SELECT shopper_id FROM orders WHERE sale_id = \(harness.sale.id) GROUP BY shopper_id HAVING sum(quantity) >= 2 LIMIT 1
                """, logger: PurchaseHarness.logger
            ).decode(String.self).collectAll().first
            if let atLimit {
                let token = try await harness.checkoutToken(for: atLimit)
                let reply = try await harness.order(shopper: atLimit, token: token)
                #expect(reply.code == "purchase_limit", "\(reply.text)")
            }

            // Phase 2: more shoppers than units left; the sale sells out, exactly.
            let second = try await Self.buy(harness, shoppers: 1_000..<1_400, created: created)
            #expect(second["201 ", default: 0] == Int(available), "\(second)")
            #expect(Set(second.keys).isSubset(of: ["201 ", "409 sold_out", "409 purchase_limit"]), "\(second)")

            let end = try await harness.postgresStock()
            #expect(end.available == 0)
            #expect(end.available + end.ordered == harness.sale.stock)
            #expect(end.orders == created.count.withLock { $0 })
            #expect(try await harness.redisStock() == 0)
            let perShopper = try await harness.postgres.query(
                "SELECT coalesce(max(total), 0)::bigint FROM (SELECT sum(quantity) AS total FROM orders GROUP BY shopper_id) t",
                logger: PurchaseHarness.logger
            ).decode(Int64.self).collectAll()
            #expect(perShopper == [2])
            let check = try await StockReconciler(
                postgres: harness.postgres, redis: harness.redis, logger: PurchaseHarness.logger
            )
            .run(saleID: harness.sale.id, mode: .check)
            #expect(check.isClean, "\(check)")
            _ = (ordered, orders)
        }
    }

    /// SCAN + DEL of every key under the sale's prefix, as if Redis had lost them.
    static func deleteEverything(_ prefix: String, _ redis: RedisClient) async throws -> Int {
        var cursor = "0"
        var deleted = 0
        repeat {
            let reply = try await redis.send("SCAN", .string(cursor), "MATCH", .string(prefix + "*"), "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2 else { throw HarnessError.unexpected("SCAN \(reply)") }
            cursor = parts[0].string ?? "0"
            let keys = (parts[1].array ?? []).compactMap(\.string)
            if !keys.isEmpty {
                deleted += Int(try await redis.send(["DEL"] + keys.map { .string($0) }).integer ?? 0)
            }
        } while cursor != "0"
        return deleted
    }
}
