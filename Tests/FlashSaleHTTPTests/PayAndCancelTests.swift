import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Testing

@Suite("Paying and cancelling orders")
struct PayAndCancelTests {
    static func reserve(_ harness: PurchaseHarness, shopper: String, quantity: Int64 = 1) async throws -> String {
        let reply = try await harness.order(
            shopper: shopper, token: try await harness.checkoutToken(for: shopper), quantity: quantity)
        guard reply.status == 201, let id = reply.json["order_id"] as? String else {
            throw HarnessError.unexpected("order: \(reply.status) \(reply.text)")
        }
        return id
    }

    static func pay(_ harness: PurchaseHarness, _ id: String, shopper: String, key: String, method: String) async throws
        -> PurchaseHarness.Reply
    {
        try await harness.request(
            .POST, "/v1/orders/\(id)/pay", shopper: shopper, headers: [("Idempotency-Key", key)],
            body: #"{"payment_method":"\#(method)"}"#)
    }

    @Test func payOnceReplayTheSameAnswer() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            let id = try await Self.reserve(harness, shopper: "kim")
            let paid = try await Self.pay(harness, id, shopper: "kim", key: "pay-1", method: "pm_card_ok")
            #expect(paid.status == 200)
            #expect(paid.json["status"] as? String == "paid")
            let replay = try await Self.pay(harness, id, shopper: "kim", key: "pay-1", method: "pm_card_ok")
            #expect(replay.status == 200)
            #expect(replay.body == paid.body)
            #expect(replay.headers["Idempotent-Replayed"] == ["true"])
            let reused = try await Self.pay(harness, id, shopper: "kim", key: "pay-1", method: "pm_card_declined")
            #expect(reused.status == 422)
            #expect(reused.code == "idempotency_key_reused")
            let again = try await Self.pay(harness, id, shopper: "kim", key: "pay-2", method: "pm_card_ok")
            #expect(again.status == 409)
            #expect(again.code == "order_not_payable")
            let payments = try await harness.postgres.query(
                "SELECT count(*)::bigint FROM payments WHERE order_id = \(UUID(uuidString: id)!)",
                logger: PurchaseHarness.logger
            ).decode(Int64.self).collectAll()
            #expect(payments == [1])
            #expect(try await Self.pay(harness, id, shopper: "lee", key: "pay-3", method: "pm_card_ok").status == 404)
        }
    }

    @Test func declinedThenPaidWithAnotherKey() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            let id = try await Self.reserve(harness, shopper: "max")
            let declined = try await Self.pay(harness, id, shopper: "max", key: "k1", method: "pm_card_declined")
            #expect(declined.status == 402)
            #expect(declined.code == "payment_declined")
            let replay = try await Self.pay(harness, id, shopper: "max", key: "k1", method: "pm_card_declined")
            #expect(replay.status == 402)
            #expect(replay.body == declined.body)
            #expect(try await Self.pay(harness, id, shopper: "max", key: "k2", method: "pm_card_ok").status == 200)
            let other = try await Self.reserve(harness, shopper: "max")
            let unknown = try await Self.pay(harness, other, shopper: "max", key: "k3", method: "pm_bitcoin")
            #expect(unknown.status == 400)
            #expect(unknown.code == "invalid_request")
            let malformed = try await harness.request(
                .POST, "/v1/orders/\(other)/pay", shopper: "max", headers: [("Idempotency-Key", "k4")], body: "{}")
            #expect(malformed.status == 400)
            let noKey = try await harness.request(
                .POST, "/v1/orders/\(other)/pay", shopper: "max", body: #"{"payment_method":"pm_card_ok"}"#)
            #expect(noKey.status == 400)
        }
    }

    @Test func payingAfterTheWindowIsRefused() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            let id = try await Self.reserve(harness, shopper: "nia")
            try await harness.postgres.query(
                "UPDATE orders SET pay_by = now() - interval '1 second' WHERE id = \(UUID(uuidString: id)!)",
                logger: PurchaseHarness.logger)
            let late = try await Self.pay(harness, id, shopper: "nia", key: "late", method: "pm_card_ok")
            #expect(late.status == 409)
            #expect(late.code == "order_expired")
        }
    }

    @Test func concurrentPaymentsWithDifferentKeysPayOnce() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            let id = try await Self.reserve(harness, shopper: "oli")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for attempt in 0..<10 {
                    group.addTask {
                        try await Self.pay(harness, id, shopper: "oli", key: "key-\(attempt)", method: "pm_card_ok").status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 9)
        }
    }

    /// A payment retried while the first attempt is still running: every one hears the same answer
    /// (200, or 402 for a declined card, which takes no row lock), all but one as replays, and one
    /// payment is recorded.
    @Test(arguments: [("pm_card_ok", 200), ("pm_card_declined", 402)])
    func concurrentRepeatsOfOnePaymentAreAnsweredAlike(method: String, status: Int) async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            for round in 0..<5 {
                let id = try await Self.reserve(harness, shopper: "uma-\(round)")
                let replies = try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            try await Self.pay(harness, id, shopper: "uma-\(round)", key: "same", method: method)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(replies.allSatisfy { $0.status == status }, "\(replies.map { "\($0.status) \($0.text)" })")
                #expect(Set(replies.map(\.body)).count == 1)
                #expect(replies.filter { $0.headers["Idempotent-Replayed"] == ["true"] }.count == 7)
                let payments = try await harness.postgres.query(
                    "SELECT count(*)::bigint FROM payments WHERE order_id = \(UUID(uuidString: id)!)",
                    logger: PurchaseHarness.logger
                ).decode(Int64.self).collectAll()
                #expect(payments == [1])
            }
        }
    }

    /// One key sent at once with two different bodies: one is answered, the other is the key reused.
    @Test func oneKeyWithTwoBodiesAtOnce() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            for round in 0..<5 {
                let id = try await Self.reserve(harness, shopper: "vic-\(round)")
                async let ok = Self.pay(harness, id, shopper: "vic-\(round)", key: "k", method: "pm_card_ok")
                async let declined = Self.pay(harness, id, shopper: "vic-\(round)", key: "k", method: "pm_card_declined")
                let statuses = try await [ok.status, declined.status].sorted()
                #expect(statuses == [200, 422] || statuses == [402, 422], "\(statuses)")
            }
        }
    }

    @Test func cancelReleasesStockOnceInBothStores() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5, perShopperLimit: 2)) { harness in
            let id = try await Self.reserve(harness, shopper: "pat", quantity: 2)
            #expect(try await harness.redisStock() == 3)
            let replies = try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "pat") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // One cancel made the change and hears 200; the others find it cancelled already.
            #expect(replies.filter { $0.status == 200 && $0.json["status"] as? String == "cancelled" }.count == 1)
            #expect(replies.filter { $0.status == 409 && $0.code == "order_not_cancellable" }.count == 9)
            let again = try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "pat")
            #expect(again.status == 409 && again.code == "order_not_cancellable", "\(again.text)")
            #expect(try await harness.redisStock() == 5)
            let stock = try await harness.postgresStock()
            #expect(stock.available == 5)
            #expect(stock.ordered == 0)
            // The shopper's allowance came back too: two more units can be bought.
            #expect(try await Self.reserve(harness, shopper: "pat", quantity: 2).isEmpty == false)

            let jobs = try await harness.postgres.query(
                "SELECT kind, status FROM jobs WHERE payload->>'order_id' = \(id) AND kind <> 'order_expiry' ORDER BY kind",
                logger: PurchaseHarness.logger
            ).decode((String, String).self).collectAll()
            // The reserved and cancelled e-mails; the Redis release was done right away, its job deleted.
            #expect(jobs.map(\.0) == ["email", "email"])
            let address = try await harness.postgres.query(
                "SELECT email FROM orders WHERE id = \(UUID(uuidString: id)!)", logger: PurchaseHarness.logger
            ).decode(String?.self).collectAll()
            #expect(address == ["pat@example.com"], "the token's email claim is kept with the order")

            #expect(try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "quinn").status == 404)
        }
    }

    /// Payment and cancellation of one order racing: exactly one of them wins, the other is told
    /// why in the contract's words, and only the cancelled orders' units come back, in both stores.
    @Test func payAndCancelRacingOnOneOrderOneWins() async throws {
        try await PurchaseHarness.run(TestSale(stock: 40, perShopperLimit: 1)) { harness in
            var ids: [(shopper: String, id: String)] = []
            for index in 0..<20 {
                let shopper = "race-\(index)"
                ids.append((shopper, try await Self.reserve(harness, shopper: shopper)))
            }
            let outcomes = try await withThrowingTaskGroup(of: (pay: PurchaseHarness.Reply, cancel: PurchaseHarness.Reply).self) {
                group in
                for (shopper, id) in ids {
                    group.addTask {
                        async let pay = Self.pay(harness, id, shopper: shopper, key: "k-\(id)", method: "pm_card_ok")
                        async let cancel = harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: shopper)
                        return try await (pay, cancel)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var paid = 0
            for (pay, cancel) in outcomes {
                if pay.status == 200 {
                    paid += 1
                    #expect(cancel.status == 409 && cancel.code == "order_not_cancellable", "\(cancel.text)")
                } else {
                    #expect(pay.status == 409 && pay.code == "order_not_payable", "\(pay.text)")
                    #expect(cancel.status == 200 && cancel.json["status"] as? String == "cancelled", "\(cancel.text)")
                }
            }
            let stock = try await harness.postgresStock()
            #expect(stock.available == Int64(40 - paid))
            #expect(try await harness.redisStock() == Int64(40 - paid))
        }
    }

    @Test func aPaidOrderCannotBeCancelled() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5)) { harness in
            let id = try await Self.reserve(harness, shopper: "ray")
            #expect(try await Self.pay(harness, id, shopper: "ray", key: "p", method: "pm_card_ok").status == 200)
            let cancel = try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "ray")
            #expect(cancel.status == 409)
            #expect(cancel.code == "order_not_cancellable")
            #expect(try await harness.redisStock() == 4)
        }
    }
}
