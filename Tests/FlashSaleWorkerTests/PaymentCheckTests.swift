import FlashSale
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import PostgresNIO
import Testing

/// The worker's `payment_check`: a payment whose answer was lost is settled by asking the gateway,
/// never by charging, and a `paying` order never stays stuck.
@Suite struct PaymentCheckTests {
    /// The gateway charged, its answer was lost, and the shopper never came back: the worker's lookup
    /// finds the charge, and the order ends paid, with its e-mail, and no second charge.
    @Test func aChargeWhoseAnswerWasLostEndsPaid() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1, email: "shopper@example.com")[0]
            let gateway = TestPaymentGateway()
            gateway.fail(.timeOutAfterCharging)
            #expect(try await Self.pay(fixture, gateway, order).status == 503)
            #expect(try await fixture.statuses() == ["paying": 1])
            #expect(try await fixture.jobs(kind: "payment_check", status: "pending") == 1)
            try await Self.checkDueNow(fixture)
            let sender = RecordingSender()
            try await fixture.whileRunning(fixture.worker(sender: sender, gateway: gateway)) {
                try await waitUntil("the payment was settled and its e-mail sent") {
                    try await fixture.jobs(kind: "payment_check", status: "pending") == 0
                        && sender.messages.contains { $0.event == "order_paid" }
                }
            }
            #expect(try await fixture.statuses() == ["paid": 1])
            #expect(try await Self.payments(fixture) == ["succeeded"])
            #expect(gateway.chargeRequests == 1)
            #expect(gateway.lookups == 1)
            #expect(try await fixture.available() == 4)
            #expect(sender.messages.filter { $0.event == "order_paid" }.map(\.orderID) == [order])
            // The shopper retries with the same key: the stored answer, not a charge.
            let replay = try await Self.pay(fixture, gateway, order)
            #expect(replay.status == 200 && replay.replayed)
            #expect(gateway.chargeRequests == 1)
        }
    }

    /// The request was lost before the gateway charged, and `pay_by` passed meanwhile: once a late
    /// charge can no longer land the worker gives the payment up, and the expiry (which waited while
    /// the order was paying) expires it: units back once in both stores, nothing charged.
    @Test func aPaymentNeverChargedIsGivenUpAndTheOrderExpiresOnce() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1)[0]
            let gateway = TestPaymentGateway()
            gateway.fail(.timeOutBeforeCharging)
            #expect(try await Self.pay(fixture, gateway, order).status == 503)
            try await fixture.abandon([order])
            try await Self.age(fixture, by: "2 minutes")
            try await Self.checkDueNow(fixture)
            try await fixture.whileRunning(fixture.worker(gateway: gateway)) {
                try await waitUntil("the order expired and its units came back") {
                    let releases = try await fixture.jobs(kind: "redis_release", status: "pending")
                    return try await (fixture.statuses(), releases, fixture.redisStock()) == (["expired": 1], 0, 5)
                }
            }
            #expect(try await Self.payments(fixture) == [])
            #expect(try await fixture.available() == 5)
            #expect(gateway.cardCharges == 0)
            #expect(try await fixture.reconcile().isClean)
        }
    }

    /// Given up before `pay_by`, the order is reserved again and pays with another key.
    @Test func aPaymentNeverChargedGivesTheOrderBackToPay() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1)[0]
            let gateway = TestPaymentGateway()
            gateway.fail(.timeOutBeforeCharging)
            #expect(try await Self.pay(fixture, gateway, order).status == 503)
            #expect(try await Self.pay(fixture, gateway, order, key: "other").status == 409, "paying: not payable")
            try await Self.age(fixture, by: "2 minutes")
            try await Self.checkDueNow(fixture)
            try await fixture.whileRunning(fixture.worker(gateway: gateway)) {
                try await waitUntil("the payment was given up") { try await fixture.statuses() == ["reserved": 1] }
            }
            gateway.fail(.none)
            #expect(try await Self.pay(fixture, gateway, order, key: "other").status == 200)
            #expect(gateway.cardCharges == 1)
            #expect(try await fixture.available() == 4)
        }
    }

    /// No charge found yet, but one sent late could still land: the check is put off, the order stays
    /// paying, and nothing is charged.
    @Test func aYoungPaymentWithNoChargeIsPutOff() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1)[0]
            let gateway = TestPaymentGateway()
            gateway.fail(.timeOutBeforeCharging)
            #expect(try await Self.pay(fixture, gateway, order).status == 503)
            try await Self.checkDueNow(fixture)
            try await fixture.whileRunning(fixture.worker(gateway: gateway)) {
                try await waitUntil("the check was put off until a late charge can no longer land") {
                    try await fixture.postgres.query(
                        """
                        SELECT count(*)::bigint FROM jobs WHERE kind = 'payment_check' AND status = 'pending'
                          AND run_at > now() + interval '30 seconds'
                        """, logger: WorkerFixture.logger
                    ).decode(Int64.self).collectAll()[0] == 1
                }
            }
            #expect(gateway.lookups >= 1)
            #expect(gateway.chargeRequests == 1)
            #expect(try await fixture.statuses() == ["paying": 1])
            #expect(try await Self.payments(fixture) == ["pending"])
        }
    }

    static func pay(_ fixture: WorkerFixture, _ gateway: TestPaymentGateway, _ order: String, key: String = "k")
        async throws -> OrderAnswer
    {
        try await PaymentWorkflow(postgres: fixture.postgres, gateway: gateway, logger: WorkerFixture.logger).pay(
            orderID: order, shopperID: "shopper-0", idempotencyKey: key, paymentMethod: "pm_card_ok")
    }

    static func payments(_ fixture: WorkerFixture) async throws -> [String] {
        try await fixture.postgres.query("SELECT status FROM payments ORDER BY id", logger: WorkerFixture.logger)
            .decode(String.self).collectAll()
    }

    /// Moves the pending payments `interval` into the past, as time would.
    static func age(_ fixture: WorkerFixture, by interval: String) async throws {
        try await fixture.postgres.query(
            "UPDATE payments SET created_at = now() - \(interval)::interval WHERE status = 'pending'",
            logger: WorkerFixture.logger)
    }

    static func checkDueNow(_ fixture: WorkerFixture) async throws {
        try await fixture.postgres.query(
            "UPDATE jobs SET run_at = now() WHERE kind = 'payment_check'", logger: WorkerFixture.logger)
    }
}
