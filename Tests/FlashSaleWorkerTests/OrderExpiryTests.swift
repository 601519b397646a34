import FlashSale
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import PostgresNIO
import RedisClient
import Testing

@Suite struct OrderExpiryTests {
    @Test func abandonedOrdersExpireAndTheirUnitsComeBackOnceInBothStores() async throws {
        let sale = TestSale(stock: 20, perShopperLimit: 3)
        try await WorkerFixture.run(sale) { fixture in
            let orders = try await fixture.buy(6, quantity: 2, email: "shopper@example.com")
            #expect(orders.count == 6)
            #expect(try await fixture.available() == 8)
            try await fixture.abandon(Array(orders.prefix(4)))

            let sender = RecordingSender()
            let worker = fixture.worker(sender: sender)
            try await fixture.whileRunning(worker) {
                try await waitUntil("four orders expired and released") {
                    let expired = try await fixture.statuses()["expired"]
                    let releases = try await fixture.jobs(kind: "redis_release", status: "pending")
                    let stock = try await fixture.redisStock()
                    return (expired, releases, stock, sender.messages.count) == (4, 0, 16, 10)
                }
            }
            #expect(try await fixture.statuses() == ["expired": 4, "reserved": 2])
            #expect(try await fixture.available() == 16)
            #expect(try await fixture.redisStock() == 16)
            // Each shopper may buy again: their counts went back with the units.
            let keys = RedisKeys(saleID: sale.id)
            #expect(try await fixture.redis.send("GET", .string(keys.bought(shopper: "shopper-0", sku: sale.sku))).isNull)
            #expect(try await fixture.redis.send("GET", .string(keys.bought(shopper: "shopper-5", sku: sale.sku))).integer == 2)
            let events = sender.messages.map(\.event)
            #expect(events.filter { $0 == "order_reserved" }.count == 6)
            #expect(Set(sender.messages.filter { $0.event == "order_expired" }.map(\.orderID)) == Set(orders.prefix(4)))
            #expect(sender.messages.allSatisfy { $0.to == "shopper@example.com" })
            #expect(try await fixture.reconcile().isClean)

            // The same expiry jobs run again (a worker died before recording them): no second release.
            try await fixture.postgres.query(
                """
                INSERT INTO jobs (kind, payload) SELECT 'order_expiry', jsonb_build_object('order_id', id) FROM orders
                WHERE status = 'expired'
                """, logger: WorkerFixture.logger)
            try await fixture.postgres.query(
                """
                INSERT INTO jobs (kind, payload) SELECT 'redis_release', jsonb_build_object('order_id', id::text,
                  'sale_id', sale_id, 'sku', sku, 'shopper_id', shopper_id, 'quantity', quantity) FROM orders
                WHERE status = 'expired'
                """, logger: WorkerFixture.logger)
            try await fixture.whileRunning(fixture.worker()) {
                try await waitUntil("the repeated jobs ran") {
                    let expiries = try await fixture.jobs(kind: "order_expiry", status: "pending")
                    return try await (expiries, fixture.jobs(kind: "redis_release", status: "pending")) == (2, 0)
                }
            }
            #expect(try await fixture.available() == 16)
            #expect(try await fixture.redisStock() == 16)
            #expect(try await fixture.reconcile().isClean)
        }
    }

    @Test func anExpiryJobRunBeforePayByIsPutOffNotApplied() async throws {
        let sale = TestSale(stock: 5)
        try await WorkerFixture.run(sale) { fixture in
            let orders = try await fixture.buy(1)
            try await fixture.postgres.query(
                "UPDATE jobs SET run_at = now() WHERE kind = 'order_expiry'", logger: WorkerFixture.logger)
            try await fixture.whileRunning(fixture.worker()) {
                try await waitUntil("the early expiry job was put off") {
                    try await fixture.postgres.query(
                        "SELECT count(*)::bigint FROM jobs WHERE kind = 'order_expiry' AND status = 'pending' AND run_at > now() + interval '5 minutes'",
                        logger: WorkerFixture.logger
                    ).decode(Int64.self).collectAll()[0] == 1
                }
            }
            #expect(orders.count == 1)
            #expect(try await fixture.statuses() == ["reserved": 1])
            #expect(try await fixture.available() == 4)
        }
    }

    /// Pay and expiry meet at `pay_by`: whichever commits first wins, the other changes nothing.
    @Test func payRacingTheExpiryHasExactlyOneWinner() async throws {
        let sale = TestSale(stock: 200, perShopperLimit: 1)
        try await WorkerFixture.run(sale) { fixture in
            let orders = try await fixture.buy(60)
            // A gateway taking 40 ms, so charges straddle pay_by and the expiry batch.
            let gateway = TestPaymentGateway(delay: .milliseconds(40))
            let payments = PaymentWorkflow(postgres: fixture.postgres, gateway: gateway, logger: WorkerFixture.logger)
            // Due in 300 ms: pays sent around then race the worker, which polls every 20 ms.
            try await fixture.postgres.query(
                "UPDATE orders SET pay_by = now() + interval '300 milliseconds'", logger: WorkerFixture.logger)
            try await fixture.postgres.query(
                "UPDATE jobs SET run_at = now() + interval '300 milliseconds' WHERE kind = 'order_expiry'",
                logger: WorkerFixture.logger)
            let answers = try await fixture.whileRunning(fixture.worker()) {
                let answers = await withTaskGroup(of: Int.self) { group in
                    for (index, order) in orders.enumerated() {
                        group.addTask {
                            try? await Task.sleep(for: .milliseconds(240 + index * 2))
                            let answer = try? await payments.pay(
                                orderID: order, shopperID: "shopper-\(index)", idempotencyKey: "pay-\(index)",
                                paymentMethod: "pm_card_ok")
                            return answer?.status ?? 0
                        }
                    }
                    return await group.reduce(into: [Int]()) { $0.append($1) }
                }
                try await waitUntil("every unpaid order expired") {
                    let reserved = try await fixture.statuses()["reserved"]
                    let releases = try await fixture.jobs(kind: "redis_release", status: "pending")
                    return reserved == nil && releases == 0
                }
                return answers
            }
            let statuses = try await fixture.statuses()
            let paid = statuses["paid"] ?? 0
            let expired = statuses["expired"] ?? 0
            #expect(paid + expired == 60)
            #expect(answers.filter { $0 == 200 }.count == paid, "a 200 for each paid order")
            #expect(answers.filter { $0 == 409 }.count == expired, "409 order_expired for each expired one")
            #expect(try await fixture.available() == 200 - Int64(paid))
            #expect(try await fixture.redisStock() == 200 - Int64(paid))
            #expect(
                try await fixture.postgres.query("SELECT count(*)::bigint FROM payments", logger: WorkerFixture.logger)
                    .decode(Int64.self).collectAll()[0] == Int64(paid))
            #expect(gateway.cardCharges == paid, "a card is charged only for an order that ends paid")
            #expect(try await fixture.reconcile().isClean)
        }
    }

    /// The expiry meets an order at the gateway (`paying`, held open) past its `pay_by`: it waits
    /// rather than expiring it, and the order ends paid with its units still sold.
    @Test func anExpiryMeetingAPayingOrderWaitsAndTheOrderEndsPaid() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1)[0]
            let gateway = TestPaymentGateway()
            gateway.hold()
            let payments = PaymentWorkflow(postgres: fixture.postgres, gateway: gateway, logger: WorkerFixture.logger)
            let paid = Task {
                try await payments.pay(
                    orderID: order, shopperID: "shopper-0", idempotencyKey: "p", paymentMethod: "pm_card_ok")
            }
            await gateway.untilCharging(1)
            try await fixture.abandon([order])
            let answer = try await fixture.whileRunning(fixture.worker(gateway: gateway)) {
                try await waitUntil("the expiry met the paying order and put itself off") {
                    try await Self.expiryPutOff(fixture)
                }
                #expect(try await fixture.statuses() == ["paying": 1])
                #expect(try await fixture.reconcile().isClean, "a paying order's units and count are still taken")
                // The shopper's count lost in Redis: a repair counts the paying order as bought.
                let bought = RedisKeys(saleID: fixture.sale.id).bought(shopper: "shopper-0", sku: fixture.sale.sku)
                _ = try await fixture.redis.send("DEL", .string(bought))
                _ = try await fixture.reconcile(.repair)
                #expect(try await fixture.redis.send("GET", .string(bought)).integer == 1)
                gateway.release()
                let answer = try await paid.value
                try await waitUntil("the expiry looked again and found it paid") {
                    try await fixture.jobs(kind: "order_expiry", status: "pending") == 0
                }
                return answer
            }
            #expect(answer.status == 200)
            #expect(try await fixture.statuses() == ["paid": 1])
            #expect(try await fixture.available() == 4)
            #expect(try await fixture.redisStock() == 4)
            #expect(gateway.cardCharges == 1)
            #expect(try await fixture.reconcile().isClean)
        }
    }

    /// A payment declined after `pay_by` gives the order back to reserved, and the expiry that waited
    /// for it then expires it: units back once in both stores, no card charged.
    @Test func aPaymentDeclinedAfterPayByLetsTheExpiryRun() async throws {
        try await WorkerFixture.run(TestSale(stock: 5)) { fixture in
            let order = try await fixture.buy(1)[0]
            let gateway = TestPaymentGateway()
            gateway.hold()
            let payments = PaymentWorkflow(postgres: fixture.postgres, gateway: gateway, logger: WorkerFixture.logger)
            let declined = Task {
                try await payments.pay(
                    orderID: order, shopperID: "shopper-0", idempotencyKey: "p", paymentMethod: "pm_card_declined")
            }
            await gateway.untilCharging(1)
            try await fixture.abandon([order])
            let answer = try await fixture.whileRunning(fixture.worker(gateway: gateway)) {
                try await waitUntil("the expiry met the paying order and put itself off") {
                    try await Self.expiryPutOff(fixture)
                }
                gateway.release()
                let answer = try await declined.value
                try await waitUntil("the order expired and its units came back") {
                    let releases = try await fixture.jobs(kind: "redis_release", status: "pending")
                    return try await (fixture.statuses(), releases, fixture.redisStock()) == (["expired": 1], 0, 5)
                }
                return answer
            }
            #expect(answer.status == 402)
            #expect(try await fixture.available() == 5)
            #expect(try await fixture.redisStock() == 5)
            #expect(gateway.cardCharges == 0)
            #expect(try await fixture.reconcile().isClean)
        }
    }

    /// The order's expiry job was run (and put off) since `abandon` made it due.
    static func expiryPutOff(_ fixture: WorkerFixture) async throws -> Bool {
        try await fixture.postgres.query(
            "SELECT count(*)::bigint FROM jobs WHERE kind = 'order_expiry' AND status = 'pending' AND run_at > now()",
            logger: WorkerFixture.logger
        ).decode(Int64.self).collectAll()[0] == 1
    }
}
