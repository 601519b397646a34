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

    /// Runs `body` with `gateway` holding charges until `body` releases them. A charge still held
    /// after 20 s means a request waited for it (as a row lock held across the charge made them do):
    /// it is released then, so that failure shows as an issue rather than a hang.
    static func whileHeld<T: Sendable>(_ gateway: TestPaymentGateway, _ body: () async throws -> T) async throws -> T {
        gateway.hold()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            Issue.record("a request waited for a charge held at the gateway")
            gateway.release()
        }
        defer { watchdog.cancel() }
        return try await body()
    }

    static func status(_ harness: PurchaseHarness, _ id: String, shopper: String) async throws -> String? {
        try await harness.request(.GET, "/v1/orders/\(id)", shopper: shopper).json["status"] as? String
    }

    /// The statuses of the order's payments, oldest first.
    static func payments(_ harness: PurchaseHarness, _ id: String) async throws -> [String] {
        try await harness.postgres.query(
            "SELECT status FROM payments WHERE order_id = \(UUID(uuidString: id)!) ORDER BY id",
            logger: PurchaseHarness.logger
        ).decode(String.self).collectAll()
    }

    /// Moves the order's pending payment `interval` into the past, as time would.
    static func age(_ harness: PurchaseHarness, _ id: String, by interval: String) async throws {
        try await harness.postgres.query(
            """
            UPDATE payments SET created_at = now() - \(interval)::interval
            WHERE order_id = \(UUID(uuidString: id)!) AND status = 'pending'
            """, logger: PurchaseHarness.logger)
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
            #expect(try await Self.status(harness, id, shopper: "max") == "reserved", "a decline gives the order back")
            let replay = try await Self.pay(harness, id, shopper: "max", key: "k1", method: "pm_card_declined")
            #expect(replay.status == 402)
            #expect(replay.body == declined.body)
            #expect(try await Self.pay(harness, id, shopper: "max", key: "k2", method: "pm_card_ok").status == 200)
            let other = try await Self.reserve(harness, shopper: "max")
            let unknown = try await Self.pay(harness, other, shopper: "max", key: "k3", method: "pm_bitcoin")
            #expect(unknown.status == 400)
            #expect(unknown.code == "invalid_request")
            #expect(try await Self.status(harness, other, shopper: "max") == "reserved")
            #expect(try await Self.payments(harness, other) == [], "a method the gateway refused charged nothing")
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

    /// Ten pays with ten keys while the first to take the order is still at the gateway (held open):
    /// the other nine are refused at once, without waiting for it and without a charge; one card
    /// charge, one 200, one payment.
    @Test func concurrentPaymentsWithDifferentKeysPayOnce() async throws {
        let gateway = TestPaymentGateway()
        try await PurchaseHarness.run(TestSale(stock: 5), gateway: gateway) { harness in
            let id = try await Self.reserve(harness, shopper: "oli")
            let replies = try await Self.whileHeld(gateway) {
                try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                    for attempt in 0..<10 {
                        group.addTask {
                            try await Self.pay(harness, id, shopper: "oli", key: "key-\(attempt)", method: "pm_card_ok")
                        }
                    }
                    // The nine refusals come while the gateway still holds the winner's charge.
                    var replies: [PurchaseHarness.Reply] = []
                    for _ in 0..<9 { if let reply = try await group.next() { replies.append(reply) } }
                    #expect(gateway.chargeRequests == 1)
                    gateway.release()
                    return try await group.reduce(into: replies) { $0.append($1) }
                }
            }
            #expect(replies.filter { $0.status == 200 }.count == 1)
            #expect(replies.last?.status == 200, "the answer held at the gateway is the one that paid")
            #expect(
                replies.filter { $0.status == 409 && $0.code == "order_not_payable" }.count == 9,
                "\(replies.map { "\($0.status) \($0.text)" })")
            #expect(gateway.chargeRequests == 1)
            #expect(gateway.cardCharges == 1)
            #expect(try await Self.payments(harness, id) == ["succeeded"])
            #expect(try await Self.status(harness, id, shopper: "oli") == "paid")
        }
    }

    /// A cancel meeting a payment at the gateway is refused (the order is `paying`), and the order
    /// ends paid with its units still sold.
    @Test func aCancelWhilePayingIsRefusedAndTheOrderEndsPaid() async throws {
        let gateway = TestPaymentGateway()
        try await PurchaseHarness.run(TestSale(stock: 5), gateway: gateway) { harness in
            let id = try await Self.reserve(harness, shopper: "pia")
            let payment = try await Self.whileHeld(gateway) {
                async let paid = Self.pay(harness, id, shopper: "pia", key: "p", method: "pm_card_ok")
                await gateway.untilCharging(1)
                #expect(try await Self.status(harness, id, shopper: "pia") == "paying")
                let cancel = try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "pia")
                #expect(cancel.status == 409 && cancel.code == "order_not_cancellable", "\(cancel.text)")
                gateway.release()
                return try await paid
            }
            #expect(payment.status == 200 && payment.json["status"] as? String == "paid", "\(payment.text)")
            #expect(try await Self.status(harness, id, shopper: "pia") == "paid")
            #expect(gateway.cardCharges == 1)
            #expect(try await harness.redisStock() == 4)
            #expect(try await harness.postgresStock().available == 4)
        }
    }

    /// The gateway charges but its answer is lost: 503, the order stays `paying` (no cancel, no other
    /// key), and a retry with the same key learns the outcome by a lookup: paid, with no second charge.
    @Test func aLostAnswerIsLearntByTheRetryNotChargedAgain() async throws {
        let gateway = TestPaymentGateway()
        gateway.fail(.timeOutAfterCharging)
        try await PurchaseHarness.run(TestSale(stock: 5), gateway: gateway) { harness in
            let id = try await Self.reserve(harness, shopper: "quin")
            let lost = try await Self.pay(harness, id, shopper: "quin", key: "k", method: "pm_card_ok")
            #expect(lost.status == 503 && lost.code == "unavailable", "\(lost.text)")
            #expect(lost.headers["Content-Type"] == ["application/problem+json"])
            #expect(try await Self.status(harness, id, shopper: "quin") == "paying")
            #expect(try await Self.payments(harness, id) == ["pending"])
            let cancel = try await harness.request(.POST, "/v1/orders/\(id)/cancel", shopper: "quin")
            #expect(cancel.status == 409 && cancel.code == "order_not_cancellable")
            let otherKey = try await Self.pay(harness, id, shopper: "quin", key: "k2", method: "pm_card_ok")
            #expect(otherKey.status == 409 && otherKey.code == "order_not_payable")

            gateway.fail(.none)
            try await Self.age(harness, id, by: "10 seconds")  // the client retries later
            let retry = try await Self.pay(harness, id, shopper: "quin", key: "k", method: "pm_card_ok")
            #expect(retry.status == 200 && retry.json["status"] as? String == "paid", "\(retry.text)")
            #expect(gateway.chargeRequests == 1)
            #expect(gateway.lookups == 1)
            #expect(try await Self.payments(harness, id) == ["succeeded"])
            let replay = try await Self.pay(harness, id, shopper: "quin", key: "k", method: "pm_card_ok")
            #expect(replay.status == 200 && replay.body == retry.body)
            #expect(replay.headers["Idempotent-Replayed"] == ["true"])
            #expect(gateway.chargeRequests == 1)
        }
    }

    /// The request is lost before the gateway charges: a retry soon after still cannot know (a late
    /// charge could land), so 503 again and no charge; once a late charge can no longer land, the
    /// retry gives the attempt up and pays afresh: one charge in all.
    @Test func aChargeNeverMadeIsGivenUpOnlyOnceItCannotLand() async throws {
        let gateway = TestPaymentGateway()
        gateway.fail(.timeOutBeforeCharging)
        try await PurchaseHarness.run(TestSale(stock: 5), gateway: gateway) { harness in
            let id = try await Self.reserve(harness, shopper: "rae")
            #expect(try await Self.pay(harness, id, shopper: "rae", key: "k", method: "pm_card_ok").status == 503)
            gateway.fail(.none)
            try await Self.age(harness, id, by: "10 seconds")
            let early = try await Self.pay(harness, id, shopper: "rae", key: "k", method: "pm_card_ok")
            #expect(early.status == 503 && early.code == "unavailable", "\(early.text)")
            #expect(gateway.cardCharges == 0)
            #expect(try await Self.status(harness, id, shopper: "rae") == "paying")

            try await Self.age(harness, id, by: "2 minutes")
            let late = try await Self.pay(harness, id, shopper: "rae", key: "k", method: "pm_card_ok")
            #expect(late.status == 200 && late.json["status"] as? String == "paid", "\(late.text)")
            #expect(gateway.cardCharges == 1)
            #expect(try await Self.payments(harness, id) == ["succeeded"])
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
