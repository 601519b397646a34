import FlashSale
import FlashSaleTestSupport
import Foundation
import RedisClient
import Testing

@Suite("flashsale reconcile and flashsale sales")
struct ReconcileCommandTests {
    static func seedLiveSale(_ stores: OperatorStores) async throws {
        let outcome = try await stores.flashsale([
            "seed", "--sale", "s", "--name", "S", "--starts-at", "now-1h", "--ends-at", "now+1h", "--generate", "3",
        ])
        #expect(outcome.status == 0, "\(outcome.errors)")
    }

    @Test func aMatchingSaleExitsZero() async throws {
        try await OperatorStores.with { stores in
            try await Self.seedLiveSale(stores)
            let outcome = try await stores.flashsale(["reconcile", "--sale", "s"])
            #expect(outcome.status == 0, "\(outcome.output)\(outcome.errors)")
            #expect(outcome.output.contains("3 SKUs compared; stock of 0 differ"))
            #expect(outcome.output.contains("Redis matches PostgreSQL"))
        }
    }

    @Test func unitsInCheckoutAreNotADifference() async throws {
        try await OperatorStores.with { stores in
            try await Self.seedLiveSale(stores)
            // A purchase has reserved 2 units in Redis and its order is not committed yet.
            let keys = RedisKeys(saleID: "s")
            _ = try await stores.redis.send("DECRBY", .string(keys.stock("sku-1")), 2)
            _ = try await stores.redis.send("ZADD", .string(keys.reservations), 1, "tok1")
            _ = try await stores.redis.send(
                "HSET", .string(keys.idempotency("tok1")), "sku", "sku-1", "quantity", "2", "shopper", "bob", "state", "pending")
            let outcome = try await stores.flashsale(["reconcile", "--sale", "s"])
            #expect(outcome.status == 0, "\(outcome.output)\(outcome.errors)")
        }
    }

    @Test func differencesArePrintedAndRepairedFromPostgres() async throws {
        try await OperatorStores.with { stores in
            try await Self.seedLiveSale(stores)
            let keys = RedisKeys(saleID: "s")
            _ = try await stores.redis.send("SET", .string(keys.stock("sku-1")), 7)
            _ = try await stores.redis.send("DEL", .string(keys.stock("sku-3")))
            // A committed order whose per-shopper count Redis lost.
            try await stores.postgres.query(
                """
                INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by)
                VALUES (gen_random_uuid(), 's', 'sku-2', 'carol', 2, 100, 'reserved', 'tok-c', now() + interval '10 minutes')
                """, logger: TestDatabase.logger)
            try await stores.postgres.query(
                "UPDATE inventory SET available = available - 2, version = version + 1 WHERE sku = 'sku-2'",
                logger: TestDatabase.logger)
            _ = try await stores.redis.send("DECRBY", .string(keys.stock("sku-2")), 2)

            let check = try await stores.flashsale(["reconcile", "--sale", "s"])
            #expect(check.status == 1)
            let lines = check.output.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("sku") == true, "\(check.output)")
            #expect(lines.contains { $0.hasPrefix("sku-1") && $0.hasSuffix("-93") }, "\(check.output)")
            #expect(lines.contains { $0.hasPrefix("sku-3") && $0.contains("missing") }, "\(check.output)")
            #expect(!lines.contains { $0.hasPrefix("sku-2 ") }, "\(check.output)")
            #expect(check.output.contains("stock of 2 differ; per-shopper counts of 1 differ"), "\(check.output)")

            let repair = try await stores.flashsale(["reconcile", "--sale", "s", "--repair"])
            #expect(repair.status == 0, "\(repair.errors)")
            #expect(try await stores.redisStock("s", "sku-1") == 100)
            #expect(try await stores.redisStock("s", "sku-3") == 100)
            #expect(try await stores.redisStock("s", "sku-2") == 98)
            #expect(try await stores.redis.send("GET", .string(keys.bought(shopper: "carol", sku: "sku-2"))).integer == 2)
            let after = try await stores.flashsale(["reconcile", "--sale", "s"])
            #expect(after.status == 0, "\(after.output)")
        }
    }

    @Test func unknownSaleIsOneLine() async throws {
        try await OperatorStores.with { stores in
            let outcome = try await stores.flashsale(["reconcile", "--sale", "nope"])
            #expect(outcome.status == 1)
            #expect(outcome.errors == "flashsale: no sale nope\n")
            let sales = try await stores.flashsale(["sales", "--sale", "nope"])
            #expect(sales.status == 1)
            #expect(sales.errors == "flashsale: no sale nope\n")
        }
    }

    @Test func salesListsStatesAndUnitsPerSKU() async throws {
        try await OperatorStores.with { stores in
            let none = try await stores.flashsale(["sales"])
            #expect(none.status == 0)
            #expect(none.output.contains("No sales yet"))
            try await Self.seedLiveSale(stores)
            let later = try await stores.flashsale([
                "seed", "--sale", "later", "--name", "Later", "--starts-at", "now+1d", "--ends-at", "now+2d", "--generate", "1",
            ])
            #expect(later.status == 0)
            let done = try await stores.flashsale([
                "seed", "--sale", "done", "--name", "Done", "--starts-at", "2020-01-01T00:00:00Z",
                "--ends-at", "2020-01-02T00:00:00Z", "--generate", "1",
            ])
            #expect(done.status == 0)
            try await stores.postgres.query(
                """
                INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by) VALUES
                  (gen_random_uuid(), 's', 'sku-1', 'a', 2, 100, 'reserved', 't1', now()),
                  (gen_random_uuid(), 's', 'sku-1', 'b', 1, 100, 'paid', 't2', now()),
                  (gen_random_uuid(), 's', 'sku-1', 'c', 4, 100, 'cancelled', 't3', now())
                """, logger: TestDatabase.logger)
            try await stores.postgres.query(
                "UPDATE inventory SET available = 97 WHERE sale_id = 's' AND sku = 'sku-1'", logger: TestDatabase.logger)

            let outcome = try await stores.flashsale(["sales", "--skus", "2"])
            #expect(outcome.status == 0, "\(outcome.errors)")
            let lines = outcome.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(outcome.output.contains("s  S  [live]"), "\(outcome.output)")
            #expect(outcome.output.contains("later  Later  [scheduled]"), "\(outcome.output)")
            #expect(outcome.output.contains("done  Done  [ended]"), "\(outcome.output)")
            // sku, stock, sold, reserved, paid, available
            #expect(lines.contains(["sku-1", "100", "3", "2", "1", "97"]), "\(outcome.output)")
            #expect(outcome.output.contains("(2 of 3 SKUs shown"), "\(outcome.output)")
            #expect(lines.contains(["total", "300", "3", "2", "1", "297"]), "\(outcome.output)")

            try await stores.postgres.query("UPDATE inventory SET available = 0", logger: TestDatabase.logger)
            let soldOut = try await stores.flashsale(["sales", "--sale", "s"])
            #expect(soldOut.output.contains("s  S  [sold out]"), "\(soldOut.output)")
        }
    }
}
