import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Testing

@Suite("Purchases under real concurrency: no oversell, one order per token, limits hold")
struct PurchaseConcurrencyTests {
    @Test func twoThousandShoppersRaceForOneHundredUnits() async throws {
        try await PurchaseHarness.run(TestSale(stock: 100, perShopperLimit: 1)) { harness in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for shopper in 0..<2_000 {
                    group.addTask {
                        let token = try await harness.checkoutToken(for: "shopper-\(shopper)")
                        let reply = try await harness.order(shopper: "shopper-\(shopper)", token: token)
                        return (reply.status, reply.code)
                    }
                }
                return try await group.reduce(into: [String: Int]()) { counts, reply in
                    counts["\(reply.0) \(reply.1 ?? "")", default: 0] += 1
                }
            }
            #expect(statuses == ["201 ": 100, "409 sold_out": 1_900])
            let stock = try await harness.postgresStock()
            #expect(stock.orders == 100)
            #expect(stock.available == 0)
            #expect(stock.available + stock.ordered == harness.sale.stock)
            #expect(try await harness.redisStock() == 0)
        }
    }

    @Test func oneTokenSentFiftyTimesMakesOneOrder() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10)) { harness in
            let token = try await harness.checkoutToken(for: "alice")
            let replies = try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                for _ in 0..<50 { group.addTask { try await harness.order(shopper: "alice", token: token) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let created = replies.filter { $0.status == 201 }
            let fresh = created.filter { $0.headers["Idempotent-Replayed"].isEmpty }
            #expect(fresh.count == 1)
            // Every other answer is a byte-for-byte replay or "still running".
            for reply in created { #expect(reply.body == fresh.first?.body) }
            for reply in created where reply.headers["Idempotent-Replayed"] == ["true"] {
                #expect(reply.body == fresh.first?.body)
            }
            let others = replies.filter { $0.status != 201 }
            #expect(others.allSatisfy { $0.status == 409 && $0.code == "request_in_progress" })
            #expect(try await harness.postgresStock().orders == 1)

            // Once finished, a reuse is a replay of the identical response.
            let later = try await harness.order(shopper: "alice", token: token)
            #expect(later.status == 201)
            #expect(later.headers["Idempotent-Replayed"] == ["true"])
            #expect(later.body == fresh.first?.body)
        }
    }

    /// The 201 does not wait for Redis to store it for replays; the store is queued on the token's
    /// connection first, so a retry sent the moment the 201 arrives is already a replay. That holds
    /// from a fresh process's first orders on, while the finalize script is not loaded yet.
    @Test func aRetryRightAfterTheAnswerIsAReplay() async throws {
        try await PurchaseHarness.run(TestSale(stock: 1_000, perShopperLimit: 1_000)) { harness in
            let replays = try await withThrowingTaskGroup(of: Int.self) { group in
                for shopper in 0..<8 {
                    group.addTask {
                        var replayed = 0
                        for _ in 0..<25 {
                            let token = try await harness.checkoutToken(for: "shopper-\(shopper)")
                            let first = try await harness.order(shopper: "shopper-\(shopper)", token: token)
                            let again = try await harness.order(shopper: "shopper-\(shopper)", token: token)
                            if first.status == 201, again.status == 201, again.body == first.body,
                                again.headers["Idempotent-Replayed"] == ["true"]
                            {
                                replayed += 1
                            }
                        }
                        return replayed
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(replays == 200)
            #expect(try await harness.postgresStock().orders == 200)
        }
    }

    @Test func perShopperLimitHoldsAcrossTokens() async throws {
        try await PurchaseHarness.run(TestSale(stock: 100, perShopperLimit: 2)) { harness in
            var tokens: [String] = []
            for _ in 0..<20 { tokens.append(try await harness.checkoutToken(for: "bob")) }
            let replies = try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                for token in tokens { group.addTask { try await harness.order(shopper: "bob", token: token) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == 201 }.count == 2)
            #expect(replies.filter { $0.status == 409 && $0.code == "purchase_limit" }.count == 18)
            let stock = try await harness.postgresStock()
            #expect(stock.ordered == 2)
            #expect(try await harness.redisStock() == 98)
        }
    }

    @Test func aPostgresFailureGivesTheStockBack() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5, perShopperLimit: 1)) { harness in
            // A real failure inside PostgreSQL: every order insert now violates a constraint.
            try await harness.postgres.query(
                "ALTER TABLE orders ADD CONSTRAINT refuse_all CHECK (quantity < 0) NOT VALID", logger: PurchaseHarness.logger)
            let token = try await harness.checkoutToken(for: "carol")
            let failed = try await harness.order(shopper: "carol", token: token)
            #expect(failed.status == 503)
            #expect(failed.code == "unavailable")
            #expect(try await harness.redisStock() == 5)
            #expect(try await harness.postgresStock().available == 5)

            // The same token replays the failure; a new token works once PostgreSQL does.
            let replay = try await harness.order(shopper: "carol", token: token)
            #expect(replay.status == 503)
            #expect(replay.body == failed.body)
            try await harness.postgres.query(
                "ALTER TABLE orders DROP CONSTRAINT refuse_all", logger: PurchaseHarness.logger)
            let retry = try await harness.order(shopper: "carol", token: try await harness.checkoutToken(for: "carol"))
            #expect(retry.status == 201)
            #expect(try await harness.redisStock() == 4)
            #expect(try await harness.postgresStock().available == 4)
        }
    }

    /// The group commit writes over connections of its own; one that PostgreSQL ends mid-sale
    /// (restart, administrator) is replaced, and a purchase that met it is given back, never lost.
    @Test func aKilledOrderWriteConnectionIsReplacedAndNothingIsLost() async throws {
        try await PurchaseHarness.run(TestSale(stock: 50, perShopperLimit: 1)) { harness in
            func buy(_ shopper: String) async throws -> Int {
                try await harness.order(shopper: shopper, token: try await harness.checkoutToken(for: shopper)).status
            }
            for index in 0..<10 { #expect(try await buy("before-\(index)") == 201) }
            let killed = try await harness.postgres.query(
                """
                SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity
                WHERE application_name = \(OrderWriteConnections.applicationName) AND datname = current_database()
                """, logger: PurchaseHarness.logger
            ).decode(Int64.self).collectAll()
            #expect((killed.first ?? 0) >= 1)
            var statuses: [Int] = []
            for index in 0..<20 { statuses.append(try await buy("after-\(index)")) }
            #expect(statuses.allSatisfy { $0 == 201 || $0 == 503 }, "\(statuses)")
            #expect(statuses.filter { $0 == 201 }.count >= 18, "\(statuses)")
            let stock = try await harness.postgresStock()
            #expect(stock.ordered == Int64(10 + statuses.filter { $0 == 201 }.count))
            #expect(stock.available + stock.ordered == 50)
            #expect(try await harness.redisStock() == stock.available)
        }
    }
}
