import FlashSale
import FlashSaleTestSupport
import RedisClient
import Testing

/// Every branch of the stock scripts (`Sources/FlashSale/Stock/*.lua`) against a redis-server
/// alone: no PostgreSQL, no HTTP. Each reserve outcome, and what each leaves in Redis.
@Suite struct StockScriptTests {
    // Static, so the expectations below need no implicit self (#expect cannot use it in a closure).
    static let sale = "s"
    static let keys = RedisKeys(saleID: Self.sale)

    /// A server with `stock` units of `sku` and a checkout token per (token, shopper) given.
    func withScripts(
        stock: Int64? = 5, tokens: [String: String] = ["t1": "ann"],
        _ body: (StockReservations, RedisClient) async throws -> Void
    ) async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis in
            if let stock { _ = try await redis.send("SET", .string(Self.keys.stock("sku")), .integer(stock)) }
            for (token, shopper) in tokens {
                _ = try await redis.send("SET", .string(Self.keys.token(token)), .string(shopper), "EX", "300")
            }
            try await body(StockReservations(redis: redis), redis)
        }
    }

    static func reserve(
        _ reservations: StockReservations, token: String = "t1", shopper: String = "ann", quantity: Int64 = 1,
        limit: Int64 = 2, fingerprint: String = "sku\n1"
    ) async throws -> StockReservations.Reservation {
        try await reservations.reserve(
            saleID: Self.sale, sku: "sku", token: token, shopperID: shopper, quantity: quantity, limit: limit,
            fingerprint: fingerprint)
    }

    static func integer(_ redis: RedisClient, _ key: String) async throws -> Int64? {
        try await redis.send("GET", .string(key)).string.flatMap { Int64($0) }
    }

    static func field(_ redis: RedisClient, _ key: String, _ name: String) async throws -> String? {
        try await redis.send("HGET", .string(key), .string(name)).string
    }

    @Test func aWinnerTakesTheUnitsAndLeavesAPendingRecordAndALedgerEntry() async throws {
        try await withScripts { reservations, redis in
            let seen1 = try await Self.reserve(reservations, quantity: 2)
            #expect(seen1 == .won(remaining: 3, version: 1))
            let seen2 = try await Self.integer(redis, Self.keys.stock("sku"))
            #expect(seen2 == 3)
            let seen3 = try await Self.integer(redis, Self.keys.bought(shopper: "ann", sku: "sku"))
            #expect(seen3 == 2)
            let seen4 = try await Self.integer(redis, Self.keys.changes("sku"))
            #expect(seen4 == 1)
            let seen5 = try await redis.send("EXISTS", .string(Self.keys.token("t1")))
            #expect(seen5 == .integer(0))
            let seen6 = try await Self.field(redis, Self.keys.idempotency("t1"), "state")
            #expect(seen6 == "pending")
            let seen7 = try await redis.send("ZSCORE", .string(Self.keys.reservations), "t1").string != nil
            #expect(seen7)
        }
    }

    @Test func aTokenUsedAgainIsAnsweredFromItsRecord() async throws {
        try await withScripts { reservations, redis in
            _ = try await Self.reserve(reservations)
            // Still pending: the first request is running.
            let seen8 = try await Self.reserve(reservations)
            #expect(seen8 == .inProgress)
            // Another body with the same token.
            let seen9 = try await Self.reserve(reservations, fingerprint: "sku\n2")
            #expect(seen9 == .keyReused)
            try await reservations.finalize(saleID: Self.sale, token: "t1", body: Array("{}".utf8))
            let seen10 = try await Self.reserve(reservations)
            #expect(seen10 == .replay(outcome: "created", body: Array("{}".utf8)))
            let seen11 = try await redis.send("ZCARD", .string(Self.keys.reservations))
            #expect(seen11 == .integer(0))
            // Only one unit was ever taken.
            let seen12 = try await Self.integer(redis, Self.keys.stock("sku"))
            #expect(seen12 == 4)
        }
    }

    @Test func unknownTokensAndOtherShoppersTokensAreInvalid() async throws {
        try await withScripts { reservations, redis in
            let seen13 = try await Self.reserve(reservations, token: "never-issued")
            #expect(seen13 == .invalidToken)
            // The token is Ann's: Bob cannot spend it, and it stays Ann's.
            let seen14 = try await Self.reserve(reservations, shopper: "bob")
            #expect(seen14 == .invalidToken)
            let seen15 = try await redis.send("GET", .string(Self.keys.token("t1"))).string
            #expect(seen15 == "ann")
            _ = try await Self.reserve(reservations)
            // Used by Ann: its record is Ann's too.
            let seen16 = try await Self.reserve(reservations, shopper: "bob")
            #expect(seen16 == .invalidToken)
            let seen17 = try await Self.integer(redis, Self.keys.stock("sku"))
            #expect(seen17 == 4)
        }
    }

    @Test func theLimitAndTheStockRefuseAndSpendTheToken() async throws {
        try await withScripts(stock: 1, tokens: ["t1": "ann", "t2": "ann", "t3": "bob"]) { reservations, redis in
            let seen18 = try await Self.reserve(reservations, quantity: 3, limit: 2)
            #expect(seen18 == .purchaseLimit)
            let seen19 = try await redis.send("EXISTS", .string(Self.keys.token("t1")))
            #expect(seen19 == .integer(0))
            let seen20 = try await Self.reserve(reservations)
            #expect(seen20 == .replay(outcome: "purchase_limit", body: []))
            let seen21 = try await Self.reserve(reservations, token: "t2", quantity: 2, limit: 5)
            #expect(seen21 == .soldOut(stock: 1, version: 0))
            let seen22 = try await Self.reserve(reservations, token: "t3", shopper: "bob")
            #expect(seen22 == .won(remaining: 0, version: 1))
            // Nothing was taken by the refusals.
            let seen23 = try await Self.integer(redis, Self.keys.bought(shopper: "ann", sku: "sku"))
            #expect(seen23 == nil)
            let seen24 = try await Self.reserve(reservations, token: "t2", quantity: 2, limit: 5)
            #expect(seen24 == .replay(outcome: "sold_out", body: []))
        }
    }

    @Test func stockNotInRedisOrFencedKeepsTheTokenForARetry() async throws {
        try await withScripts(stock: nil) { reservations, redis in
            let seen25 = try await Self.reserve(reservations)
            #expect(seen25 == .notStocked)
            let seen26 = try await redis.send("GET", .string(Self.keys.token("t1"))).string
            #expect(seen26 == "ann")
            _ = try await redis.send("SET", .string(Self.keys.stock("sku")), "5")
            _ = try await redis.send("SET", .string(Self.keys.repairFence("sku")), "1")
            let seen27 = try await Self.reserve(reservations)
            #expect(seen27 == .notStocked)
            let seen28 = try await redis.send("GET", .string(Self.keys.token("t1"))).string
            #expect(seen28 == "ann")
            _ = try await redis.send("DEL", .string(Self.keys.repairFence("sku")))
            let seen29 = try await Self.reserve(reservations)
            #expect(seen29 == .won(remaining: 4, version: 1))
        }
    }

    @Test func compensationGivesTheUnitsBackOnce() async throws {
        try await withScripts { reservations, redis in
            _ = try await Self.reserve(reservations, quantity: 2)
            let first = try await reservations.compensate(
                saleID: Self.sale, sku: "sku", token: "t1", shopperID: "ann", quantity: 2)
            let second = try await reservations.compensate(
                saleID: Self.sale, sku: "sku", token: "t1", shopperID: "ann", quantity: 2)
            #expect(first)
            #expect(!second)
            let seen30 = try await Self.integer(redis, Self.keys.stock("sku"))
            #expect(seen30 == 5)
            let seen31 = try await redis.send("EXISTS", .string(Self.keys.bought(shopper: "ann", sku: "sku")))
            #expect(seen31 == .integer(0))
            let seen32 = try await Self.integer(redis, Self.keys.changes("sku"))
            #expect(seen32 == 2)
            let seen33 = try await Self.reserve(reservations)
            #expect(seen33 == .replay(outcome: "unavailable", body: []))
        }
    }

    @Test func aReleaseGivesTheUnitsBackOncePerOrderAndNeverCreatesStock() async throws {
        try await withScripts { reservations, redis in
            _ = try await Self.reserve(reservations, quantity: 2)
            let first = try await reservations.release(
                saleID: Self.sale, sku: "sku", orderID: "o1", shopperID: "ann", quantity: 2)
            let second = try await reservations.release(
                saleID: Self.sale, sku: "sku", orderID: "o1", shopperID: "ann", quantity: 2)
            #expect(first)
            #expect(!second)
            let seen34 = try await Self.integer(redis, Self.keys.stock("sku"))
            #expect(seen34 == 5)
            let seen35 = try await redis.send("EXISTS", .string(Self.keys.bought(shopper: "ann", sku: "sku")))
            #expect(seen35 == .integer(0))
            // Redis lost the SKU's stock: the release is recorded but does not invent a stock key.
            _ = try await redis.send("DEL", .string(Self.keys.stock("sku")))
            let seen36 = try await reservations.release(
                saleID: Self.sale, sku: "sku", orderID: "o2", shopperID: "ann", quantity: 1)
            #expect(seen36)
            let seen37 = try await redis.send("EXISTS", .string(Self.keys.stock("sku")))
            #expect(seen37 == .integer(0))
        }
    }
}
