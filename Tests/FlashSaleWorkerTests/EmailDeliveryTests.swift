import AsyncHTTPClient
import FlashSale
import FlashSaleEmail
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import PostgresNIO
import Testing

/// The worker delivering order e-mails to a local HTTP provider, through the same sender, breaker
/// and Redis rate limiter `flashsale worker` uses.
@Suite struct EmailDeliveryTests {
    static let secret = "provider-shared-secret-of-32-bytes!!"

    func withProvider(
        _ provider: LocalEmailProvider, limits: EmailRateLimiter.Limits = .init(),
        _ body: @Sendable (WorkerFixture, Worker) async throws -> Void
    ) async throws {
        try await provider.start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPEmailSender.clientConfiguration())
        do {
            try await WorkerFixture.run(TestSale(stock: 5_000, perShopperLimit: 5)) { fixture in
                let sender = BreakerGuardedSender(
                    wrapping: HTTPEmailSender(url: provider.url, signingSecret: Self.secret, client: client))
                let permits = RateLimitedPermits(EmailRateLimiter(client: fixture.redis, limits: limits))
                var settings = WorkerFixture.quickSettings
                settings.leaseDuration = .seconds(30)
                let worker = fixture.worker(settings: settings, sender: sender, permits: permits)
                try await body(fixture, worker)
            }
        } catch {
            try? await client.shutdown()
            await provider.stop()
            throw error
        }
        try await client.shutdown()
        await provider.stop()
    }

    @Test func aProviderFailingOnceGetsTheSameSignedMessageAgainAndDeliversItOnce() async throws {
        let provider = LocalEmailProvider(script: [.status(500, body: "try later")])
        try await withProvider(provider) { fixture, worker in
            let orders = try await fixture.buy(1, email: "alice@example.com")
            try await fixture.whileRunning(worker) {
                try await waitUntil("delivered after one 500") { provider.receipts.count == 2 }
                try await waitUntil("the e-mail job is done") { try await fixture.jobs(kind: "email", status: "pending") == 0 }
            }
            let receipts = provider.receipts
            #expect(receipts.count == 2)
            let keys = receipts.map { $0.headers["Idempotency-Key"].first }
            #expect(keys == ["email:\(orders[0]):order_reserved", "email:\(orders[0]):order_reserved"])
            for receipt in receipts {
                let header = receipt.headers[EmailSignature.headerName].first ?? ""
                #expect(throws: Never.self) { try EmailSignature(secret: Self.secret).verify(header: header, body: receipt.body) }
                #expect(throws: (any Error).self) {
                    try EmailSignature(secret: Self.secret).verify(header: header, body: receipt.body + [32])
                }
            }
            let json = try JSONSerialization.jsonObject(with: Data(receipts[1].body)) as? [String: Any]
            #expect(json?["to"] as? String == "alice@example.com")
            #expect(json?["event"] as? String == "order_reserved")
            #expect(try await fixture.jobs(kind: "email", status: "dead") == 0)
        }
    }

    @Test func aMessageTheProviderRefusesIsDeadUntilRequeued() async throws {
        let provider = LocalEmailProvider(script: [.status(400, body: #"{"error":"bad address"}"#)], then: .ok)
        try await withProvider(provider) { fixture, worker in
            _ = try await fixture.buy(1, email: "bob@example.com")
            try await fixture.whileRunning(worker) {
                try await waitUntil("the refused e-mail is dead") { try await fixture.jobs(kind: "email", status: "dead") == 1 }
                let dead = try await JobsOverview(postgres: fixture.postgres, logger: WorkerFixture.logger).dead(limit: 5)
                #expect(dead.first?.lastError?.contains("400") == true)
                #expect(dead.first?.attempts == 1, "a 4xx is not retried")
                #expect(
                    try await JobsOverview(postgres: fixture.postgres, logger: WorkerFixture.logger).requeue(ids: dead.map(\.id))
                        == 1)
                try await waitUntil("the re-queued e-mail is delivered") {
                    let dead = try await fixture.jobs(kind: "email", status: "dead")
                    return (dead, provider.receipts.count) == (0, 2)
                }
            }
            #expect(provider.receipts.count == 2)
        }
    }

    @Test func ordersWithoutAnAddressGetNoEmail() async throws {
        let provider = LocalEmailProvider()
        try await withProvider(provider) { fixture, worker in
            let orders = try await fixture.buy(3)
            try await fixture.abandon(orders)
            // An old e-mail job of an order without an address (as written before addresses were kept).
            try await fixture.postgres.query(
                "INSERT INTO jobs (kind, payload) VALUES ('email', jsonb_build_object('order_id', \(orders[0]), 'event', 'order_paid'))",
                logger: WorkerFixture.logger)
            try await fixture.whileRunning(worker) {
                try await waitUntil("the orders expired and the e-mail job is done") {
                    let expired = try await fixture.statuses()["expired"]
                    return try await (expired, fixture.jobs(kind: "email", status: "pending")) == (3, 0)
                }
            }
            #expect(provider.receipts.isEmpty)
            #expect(try await fixture.jobs(kind: "email", status: "dead") == 0)
        }
    }

    /// 2,000 e-mails at 50 per second (the default): about 50 s, and no one-second window at the
    /// provider, by its own receipt times, ever holds more than 50.
    @Test func twoThousandEmailsNeverArriveFasterThanTheLimit() async throws {
        let provider = LocalEmailProvider()
        try await withProvider(provider, limits: .init(perSecond: 50, burst: 50)) { fixture, worker in
            try await fixture.postgres.query(
                """
                INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by, email)
                SELECT gen_random_uuid(), \(fixture.sale.id), \(fixture.sale.sku), 'bulk-' || n, 1, 100, 'paid',
                       'bulk-token-' || n, now() + interval '1 hour', 'bulk-' || n || '@example.com'
                FROM generate_series(1, 2000) AS n
                """, logger: WorkerFixture.logger)
            try await fixture.postgres.query(
                """
                INSERT INTO jobs (kind, payload, dedupe_key)
                SELECT 'email', jsonb_build_object('order_id', id, 'event', 'order_paid'), 'email:' || id || ':order_paid'
                FROM orders
                """, logger: WorkerFixture.logger)
            try await fixture.whileRunning(worker) {
                try await waitUntil("2,000 e-mails delivered", seconds: 90) {
                    let pending = try await fixture.jobs(kind: "email", status: "pending")
                    return try await (pending, fixture.jobs(kind: "email", status: "running")) == (0, 0)
                }
            }
            let times = provider.receipts.map(\.receivedAt).sorted()
            #expect(times.count == 2_000)
            let keys = Set(provider.receipts.compactMap { $0.headers["Idempotency-Key"].first })
            #expect(keys.count == 2_000, "each e-mail delivered once")
            var busiest = 0
            var start = 0
            for end in times.indices {
                while times[end] - times[start] >= .seconds(1) { start += 1 }
                busiest = max(busiest, end - start + 1)
            }
            #expect(busiest <= 50, "the busiest one-second window held \(busiest)")
            #expect(busiest >= 30, "the limit was used, not crawled under")
        }
    }
}
