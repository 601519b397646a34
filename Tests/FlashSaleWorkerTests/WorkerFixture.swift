import FlashSale
import FlashSaleEmail
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import Logging
import PostgresNIO
import RedisClient
import Synchronization
import Testing

/// A fresh migrated database, a private redis-server, `sale` in both, and a purchase workflow
/// writing through the pool: what the worker's tests buy with and then run a worker against.
struct WorkerFixture: Sendable {
    let sale: TestSale
    let postgres: PostgresClient
    let redis: RedisClient
    let redisServer: TestRedisServer
    let workflow: PurchaseWorkflow
    let url: DatabaseURL

    static let logger = Logger(label: "worker-test")

    static func run(_ sale: TestSale, _ body: @Sendable (WorkerFixture) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: logger).migrate(try TestDatabase.migrations)
            let redisServer = try await TestRedisServer()
            let redis = RedisClient(configuration: redisServer.configuration)
            try await sale.create(postgres: postgres, redis: redis)
            let workflow = PurchaseWorkflow(
                catalog: SaleCatalog(repository: SaleRepository(postgres: postgres, logger: logger)),
                reservations: StockReservations(redis: redis),
                committer: CoalescingOrderCommitter(writer: OrderBatchWriter(connections: postgres, logger: logger)),
                logger: logger)
            let fixture = WorkerFixture(
                sale: sale, postgres: postgres, redis: redis, redisServer: redisServer, workflow: workflow, url: url)
            do {
                try await body(fixture)
            } catch {
                await redis.close()
                throw error
            }
            await redis.close()
            withExtendedLifetime(redisServer) {}
        }
    }

    /// Short intervals, so a test sees the worker act within a second or two.
    static var quickSettings: Worker.Settings {
        var settings = Worker.Settings()
        settings.idlePoll = .milliseconds(20)
        settings.longestIdlePoll = .milliseconds(100)
        settings.sweepInterval = .milliseconds(200)
        settings.ledgerAge = .seconds(1)
        settings.reprimeInterval = .milliseconds(200)
        settings.leaseDuration = .seconds(2)
        return settings
    }

    func worker(
        settings: Worker.Settings = WorkerFixture.quickSettings, sender: any EmailSender = DiscardingSender(),
        permits: (any DeliveryPermits)? = nil, gateway: any PaymentGateway = SandboxPaymentGateway()
    ) -> Worker {
        let email = EmailJobHandler(postgres: postgres, sender: sender, permits: permits, logger: Self.logger)
        return Worker(
            settings: settings, postgres: postgres, redis: redis,
            handlers: Worker.standardHandlers(
                postgres: postgres, redis: redis, email: email, gateway: gateway, logger: Self.logger),
            logger: Self.logger)
    }

    /// Runs `worker` while `body` runs, then stops it and waits for it.
    func whileRunning<T: Sendable>(_ worker: Worker, _ body: @Sendable () async throws -> T) async throws -> T {
        let running = Task { await worker.run() }
        do {
            let result = try await body()
            worker.stop()
            await running.value
            return result
        } catch {
            worker.stop()
            await running.value
            throw error
        }
    }

    /// `count` shoppers each buying `quantity` with a fresh checkout token; their orders.
    func buy(_ count: Int, quantity: Int64 = 1, email: String? = nil, prefix: String = "shopper") async throws -> [String] {
        let checkout = CheckoutTokens(redis: redis)
        var orders: [String] = []
        for index in 0..<count {
            let shopper = "\(prefix)-\(index)"
            let token = try await checkout.issue(saleID: sale.id, shopperID: shopper)
            let outcome = await workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: quantity, token: token, shopperID: shopper, email: email)
            guard case .created(let body) = outcome else {
                Issue.record("purchase \(index) answered \(outcome)")
                continue
            }
            let text = String(decoding: body, as: UTF8.self)
            if let range = text.range(of: #""order_id":"([^"]+)""#, options: .regularExpression) {
                orders.append(String(text[range].dropFirst(12).dropLast()))
            }
        }
        return orders
    }

    /// Moves the orders' payment window into the past and their expiry jobs due now, as time would.
    func abandon(_ orders: [String]) async throws {
        let ids = orders.compactMap(UUID.init(uuidString:))
        try await postgres.query(
            "UPDATE orders SET pay_by = now() - interval '1 second' WHERE id = ANY(\(ids))", logger: Self.logger)
        try await postgres.query(
            "UPDATE jobs SET run_at = now() - interval '1 second' WHERE kind = 'order_expiry' AND payload->>'order_id' = ANY(\(orders))",
            logger: Self.logger)
    }

    func available() async throws -> Int64 {
        try await postgres.query(
            "SELECT available::bigint FROM inventory WHERE sale_id = \(sale.id) AND sku = \(sale.sku)", logger: Self.logger
        ).decode(Int64.self).collectAll()[0]
    }

    func redisStock() async throws -> Int64? {
        try await redis.send("GET", .string(RedisKeys(saleID: sale.id).stock(sale.sku))).integer
    }

    func statuses() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for try await (status, count) in try await postgres.query(
            "SELECT status, count(*)::bigint FROM orders GROUP BY status", logger: Self.logger
        ).decode((String, Int64).self) { counts[status] = Int(count) }
        return counts
    }

    func jobs(kind: String, status: String) async throws -> Int {
        Int(
            try await postgres.query(
                "SELECT count(*)::bigint FROM jobs WHERE kind = \(kind) AND status = \(status)", logger: Self.logger
            ).decode(Int64.self).collectAll()[0])
    }

    func reconcile(_ mode: StockReconciler.Mode = .check) async throws -> ReconcileReport {
        try await StockReconciler(postgres: postgres, redis: redis, logger: Self.logger).run(saleID: sale.id, mode: mode)
    }
}

/// Accepts every message.
final class DiscardingSender: EmailSender, Sendable {
    func send(_ message: EmailMessage) async throws {}
}

/// Accepts every message and keeps it.
final class RecordingSender: EmailSender, Sendable {
    private let sent = Mutex<[EmailMessage]>([])

    func send(_ message: EmailMessage) async throws {
        sent.withLock { $0.append(message) }
    }

    var messages: [EmailMessage] { sent.withLock { $0 } }
}

/// Polls `condition` for up to `seconds`; records an issue naming `what` if it never holds.
func waitUntil(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for: \(what)")
}
