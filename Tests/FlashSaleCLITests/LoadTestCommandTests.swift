import FlashSale
import FlashSaleTestSupport
import Foundation
import LoadTestKit
import PostgresNIO
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `flashsale-loadtest` as an engineer runs it: the smoke scenario against a real service and
/// worker, and the audit catching what a broken service would leave behind.
@Suite struct LoadTestCommandTests {
    static let secret = "load-test-secret-0123456789-0123456789"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func loadtest(_ arguments: [String], environment: [String: String]) async throws -> FlashsaleBinary.Outcome {
        try await FlashsaleBinary.run(arguments, environment: environment, executable: "flashsale-loadtest")
    }

    static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fs-loadtest-\(UInt64.random(in: 0..<UInt64.max))")
    }

    @Test func theSmokeScenarioRunsAndItsAuditPasses() async throws {
        try await OperatorStores.with { stores in
            var environment = stores.environment
            environment["JWT_SECRET"] = Self.secret
            let port = freeLocalPort()
            let outbox = Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: outbox) }
            // With the default rate limits, the load test standing in for the load balancer.
            let (service, _, _) = try FlashsaleBinary.start(
                ["serve"], environment: environment.merging(["HTTP_PORT": "\(port)", "TRUSTED_PROXIES": "127.0.0.1"]) { $1 })
            defer { if service.isRunning { service.terminate() } }
            // The worker expires the abandoned orders: the audit waits for it.
            let (worker, _, _) = try FlashsaleBinary.start(
                ["worker"],
                environment: environment.merging(["WORKER_METRICS_PORT": "\(freeLocalPort())", "EMAIL_OUTBOX_DIR": outbox.path]) {
                    $1
                })
            defer { if worker.isRunning { worker.terminate() } }
            _ = try await eventually { try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!) }

            let out = Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: out) }
            let scenario = Self.repository.appendingPathComponent("LoadTests/Scenarios/smoke.json").path
            let run = try await Self.loadtest(
                [
                    "run", scenario, "--target", "http://127.0.0.1:\(port)", "--seed", "7", "--calibration-seconds", "0.3",
                    "--out", out.path,
                ],
                environment: environment)
            #expect(run.status == 0, "\(run.output)\n\(run.errors)")
            #expect(run.output.contains("audit: passed"), "\(run.output)")

            let report = try ReportFiles.read(out.appendingPathComponent("report.json").path)
            let audit = try #require(report.audit)
            #expect(audit.passed)
            #expect(audit.checks.count == 8)
            #expect(report.createdOrders.count > 0)
            // The smoke sale sells out and the forged bots are refused.
            #expect(report.results.contains { $0.endpoint == .order && $0.answer.code == "sold_out" })
            #expect(report.results.contains { $0.endpoint == .order && $0.answer.status == 401 })
            #expect(report.results.contains { $0.endpoint == .pay && $0.answer.status == 200 })
            #expect(report.results.contains { $0.endpoint == .cancel && $0.answer.status == 200 })
            #expect(report.timeline.contains { !$0.stock.isEmpty })
            #expect(report.calibration != nil)
            let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
            #expect(html.contains("<svg"))

            // Every 201 the run saw is an order of the sale.
            let orders = try await stores.postgres.query(
                "SELECT id::text FROM orders WHERE sale_id = \(report.saleID)", logger: TestDatabase.logger
            ).decode(String.self).collectAll()
            #expect(Set(report.createdOrders.map { $0.orderID.lowercased() }).isSubset(of: Set(orders)))

            let again = try await Self.loadtest(
                ["audit", "--report", out.appendingPathComponent("report.json").path, "--settle", "0"], environment: environment)
            #expect(again.status == 0, "\(again.output)\n\(again.errors)")
        }
    }

    /// A SKU with more units in orders than it ever had, as an oversell would leave it.
    static func plantOversoldSale(_ stores: OperatorStores, sale: String) async throws {
        let logger = TestDatabase.logger
        try await stores.postgres.query(
            "INSERT INTO sales (id, name, starts_at, ends_at) VALUES (\(sale), 'Planted', now() - interval '1 hour', now() + interval '1 hour')",
            logger: logger)
        try await stores.postgres.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            VALUES (\(sale), 'gone', 'Gone', 100, 1, 0, 5), (\(sale), 'fine', 'Fine', 100, 5, 5, 5)
            """, logger: logger)
        try await stores.postgres.query(
            """
            INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by)
            SELECT gen_random_uuid(), \(sale), 'gone', 'shopper-' || n, 1, 100, 'paid', 'planted-' || n, now() + interval '1 hour'
            FROM generate_series(1, 2) AS n
            """, logger: logger)
        let keys = RedisKeys(saleID: sale)
        _ = try await stores.redis.send("SET", .string(keys.stock("gone")), "0")
        _ = try await stores.redis.send("SET", .string(keys.stock("fine")), "5")
    }

    @Test func badSweepFractionsAreRefusedBeforeAnythingRuns() async throws {
        let scenario = Self.repository.appendingPathComponent("LoadTests/Scenarios/smoke.json").path
        for fractions in ["abc", "0.5,,2", "0", "0.5,25"] {
            let outcome = try await Self.loadtest(
                ["run", scenario, "--sweep", "--sweep-fractions", fractions, "--target", "http://127.0.0.1:\(freeLocalPort())"],
                environment: ["JWT_SECRET": Self.secret])
            #expect(outcome.status == 64, "\(fractions): \(outcome.errors)")
            #expect(outcome.errors.contains("--sweep-fractions"), "\(outcome.errors)")
        }
        for maximum in ["0", "-3"] {
            let outcome = try await Self.loadtest(
                ["run", scenario, "--sweep", "--sweep-maximum=\(maximum)", "--target", "http://127.0.0.1:\(freeLocalPort())"],
                environment: ["JWT_SECRET": Self.secret])
            #expect(outcome.status == 64, "\(maximum): \(outcome.errors)")
            #expect(outcome.errors.contains("--sweep-maximum"), "\(outcome.errors)")
        }
    }

    @Test func theAuditNamesAnOversoldSKU() async throws {
        try await OperatorStores.with { stores in
            try await Self.plantOversoldSale(stores, sale: "planted")
            let audit = try await Self.loadtest(["audit", "--sale", "planted", "--settle", "0"], environment: stores.environment)
            #expect(audit.status == 1, "\(audit.output)\n\(audit.errors)")
            #expect(audit.output.contains("✗ no oversell: gone: 2 sold of 1"), "\(audit.output)")
            #expect(audit.output.contains("✗ sold + available = initial: gone"), "\(audit.output)")
            #expect(!audit.output.contains("fine:"), "\(audit.output)")
            #expect(audit.output.contains("audit: FAILED"), "\(audit.output)")
        }
    }

    @Test func theAuditNamesA201WithoutAnOrderAndAnOrderWithoutA201() async throws {
        try await OperatorStores.with { stores in
            try await Self.plantOversoldSale(stores, sale: "planted")
            // Take the oversell away: one of the two orders is cancelled.
            try await stores.postgres.query(
                "UPDATE orders SET status = 'cancelled' WHERE checkout_token = 'planted-2'", logger: TestDatabase.logger)
            let answered = try await stores.postgres.query(
                "SELECT id::text FROM orders WHERE checkout_token = 'planted-1'", logger: TestDatabase.logger
            ).decode(String.self).collectAll()[0]
            let phantom = UUID().uuidString.lowercased()
            let report = LoadReport(
                scenario: "planted", targets: [], runID: "r", saleID: "planted", seed: 1, shards: ["1/1"], startedAt: Date(),
                createdOrders: [
                    CreatedOrder(orderID: answered, checkoutToken: "planted-1", shopperID: "shopper-1", sku: "gone", quantity: 1),
                    CreatedOrder(
                        orderID: phantom, checkoutToken: "never-stored", shopperID: "shopper-9", sku: "gone", quantity: 1),
                ])
            let folder = Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let files = try ReportFiles.write(report, to: folder)
            let audit = try await Self.loadtest(
                ["audit", "--report", files.json.path, "--settle", "0"], environment: stores.environment)
            #expect(audit.status == 1, "\(audit.output)\n\(audit.errors)")
            #expect(audit.output.contains("✓ no oversell"), "\(audit.output)")
            #expect(audit.output.contains("✗ every 201 is a committed order: 201 for order \(phantom)"), "\(audit.output)")
            // planted-2 was never answered 201 and its answer was not lost either.
            #expect(audit.output.contains("✗ every order was answered 201 or its answer lost"), "\(audit.output)")
            #expect(audit.output.contains("token planted-2"), "\(audit.output)")
        }
    }
}
