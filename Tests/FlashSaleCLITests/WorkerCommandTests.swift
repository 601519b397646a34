import AsyncHTTPClient
import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Testing

/// `flashsale worker` and `flashsale jobs` as an operator runs them: real processes, killed with
/// SIGKILL or stopped with SIGTERM.
@Suite struct WorkerCommandTests {
    /// A sale with `orders` abandoned orders of one unit each (pay_by passed, expiry jobs due), each
    /// with an e-mail address; PostgreSQL and Redis agree on what is left.
    static func plantAbandonedOrders(_ stores: OperatorStores, sale: String, stock: Int, orders: Int) async throws {
        let logger = TestDatabase.logger
        try await stores.postgres.query(
            "INSERT INTO sales (id, name, starts_at, ends_at) VALUES (\(sale), 'Abandoned', now() - interval '1 hour', now() + interval '1 hour')",
            logger: logger)
        try await stores.postgres.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            VALUES (\(sale), 'mug', 'Mug', 900, \(stock), \(stock - orders), 1)
            """, logger: logger)
        try await stores.postgres.query(
            """
            INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by, email)
            SELECT gen_random_uuid(), \(sale), 'mug', 'shopper-' || n, 1, 900, 'reserved', 'token-' || n,
                   now() - interval '1 second', 'shopper-' || n || '@example.com'
            FROM generate_series(1, \(orders)) AS n
            """, logger: logger)
        try await stores.postgres.query(
            """
            INSERT INTO jobs (kind, payload, dedupe_key)
            SELECT 'order_expiry', jsonb_build_object('order_id', id), 'order_expiry:' || id FROM orders
            """, logger: logger)
        let keys = RedisKeys(saleID: sale)
        _ = try await stores.redis.send("SET", .string(keys.stock("mug")), .integer(Int64(stock - orders)))
        for n in 1...orders {
            _ = try await stores.redis.send("SET", .string(keys.bought(shopper: "shopper-\(n)", sku: "mug")), "1")
        }
        _ = try await stores.redis.send("SET", .string(keys.primed), "1")
    }

    static func scalar(_ stores: OperatorStores, _ sql: String) async throws -> Int64 {
        try await stores.postgres.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int64.self)
            .collectAll()[0]
    }

    static func outbox() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fs-outbox-\(UInt64.random(in: 0..<UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func emlFiles(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".eml") }
    }

    static func waitUntil(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for: \(what)")
    }

    @Test func aWorkerKilledMidBatchLosesNothingAndDoesNothingTwice() async throws {
        try await OperatorStores.with { stores in
            let outbox = try Self.outbox()
            defer { try? FileManager.default.removeItem(at: outbox) }
            try await Self.plantAbandonedOrders(stores, sale: "killed", stock: 500, orders: 200)
            var environment = stores.environment
            // Slow e-mail, so the first worker surely holds leased e-mail jobs when it dies.
            environment["EMAIL_OUTBOX_DIR"] = outbox.path
            environment["EMAIL_RATE_PER_SECOND"] = "40"
            environment["EMAIL_BURST"] = "5"
            let arguments = ["worker", "--metrics-port", "0", "--lease", "2s"]

            let (first, _, _) = try FlashsaleBinary.start(arguments, environment: environment)
            try await Self.waitUntil("the first worker is e-mailing") { Self.emlFiles(outbox).count >= 20 }
            kill(first.processIdentifier, SIGKILL)
            while first.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            let held = try await Self.scalar(stores, "SELECT count(*) FROM jobs WHERE status = 'running'")
            #expect(held > 0, "the killed worker held leases")
            #expect(Self.emlFiles(outbox).count < 200)

            let (second, _, _) = try FlashsaleBinary.start(arguments, environment: environment)
            defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
            try await Self.waitUntil("the second worker finished everything") {
                try await Self.scalar(stores, "SELECT count(*) FROM jobs WHERE status <> 'done'") == 0
            }
            kill(second.processIdentifier, SIGTERM)
            while second.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            #expect(second.terminationStatus == 0)

            #expect(try await Self.scalar(stores, "SELECT count(*) FROM orders WHERE status = 'expired'") == 200)
            #expect(try await stores.inventory("killed")["mug"]?.3 == 500, "each unit back once in PostgreSQL")
            #expect(try await stores.redisStock("killed", "mug") == 500, "each unit back once in Redis")
            #expect(Self.emlFiles(outbox).count == 200, "one e-mail per expired order")
            let reconcile = try await stores.flashsale(["reconcile", "--sale", "killed"])
            #expect(reconcile.status == 0, "\(reconcile.output)\(reconcile.errors)")
        }
    }

    @Test func sigtermStopsTheWorkerAndItsMetricsPortServesTheQueue() async throws {
        try await OperatorStores.with { stores in
            let outbox = try Self.outbox()
            defer { try? FileManager.default.removeItem(at: outbox) }
            let port = freeLocalPort()
            var environment = stores.environment
            environment["EMAIL_OUTBOX_DIR"] = outbox.path
            try await stores.postgres.query(
                "INSERT INTO jobs (kind, payload) SELECT 'noop', '{}' FROM generate_series(1, 50)", logger: TestDatabase.logger)
            try await stores.postgres.query(
                "INSERT INTO jobs (kind, payload, status, last_error) VALUES ('noop', '{}', 'dead', 'failed before')",
                logger: TestDatabase.logger)
            let (worker, _, errors) = try FlashsaleBinary.start(
                ["worker", "--metrics-port", "\(port)"], environment: environment)
            defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
            try await Self.waitUntil("the noop jobs ran") {
                try await Self.scalar(stores, "SELECT count(*) FROM jobs WHERE status <> 'dead'") == 0
            }
            if !worker.isRunning {
                Issue.record(
                    "the worker exited (\(worker.terminationStatus)): \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))"
                )
                return
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var text = ""
            func metricsShow(_ line: String) async throws -> Bool {
                guard
                    let response = try? await client.execute(
                        HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(2))
                else { return false }
                text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return text.split(separator: "\n").contains { $0.hasPrefix(line) }
            }
            try await Self.waitUntil("/metrics counts the dead job") {
                try await metricsShow(#"flashsale_jobs{kind="noop",status="dead"} 1"#)
            }
            #expect(text.contains(#"flashsale_jobs_completed_total{kind="noop"} 50"#), "\(text.prefix(2000))")
            #expect(text.contains("flashsale_email_breaker_state 0"), "exported before any transition")
            // A second worker whose metrics port is taken stops with an error; it does not spin on.
            let (second, _, _) = try FlashsaleBinary.start(["worker", "--metrics-port", "\(port)"], environment: environment)
            defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
            let secondDeadline = ContinuousClock.now + .seconds(15)
            while second.isRunning && ContinuousClock.now < secondDeadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!second.isRunning, "a worker whose service group failed exits")
            // Foundation traps on the status of a process still running.
            if !second.isRunning { #expect(second.terminationStatus != 0) }
            #expect(try await stores.flashsale(["jobs", "requeue", "--all"]).status == 0)
            // The gauges come every 5 s: the dead count goes back to zero, not stays at its last value.
            try await Self.waitUntil("/metrics shows no dead job") {
                try await metricsShow(#"flashsale_jobs{kind="noop",status="dead"} 0"#)
            }
            #expect(text.contains(#"flashsale_jobs_completed_total{kind="noop"} 51"#))
            try await client.shutdown()
            kill(worker.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(10)
            while worker.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!worker.isRunning, "SIGTERM stops the worker")
            if !worker.isRunning {
                #expect(
                    worker.terminationStatus == 0, "\(String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self))"
                )
            }
        }
    }

    @Test func badWorkerSettingsAreOneLineAndExitTwo() async throws {
        try await OperatorStores.with { stores in
            var environment = stores.environment
            environment["EMAIL_PROVIDER_URL"] = "ftp://mail.example.com"
            let url = try await FlashsaleBinary.run(["worker"], environment: environment)
            #expect(url.status == 2)
            #expect(url.errors.hasPrefix("flashsale: configuration error: EMAIL_PROVIDER_URL"), "\(url.errors)")
            let lease = try await stores.flashsale(["worker", "--lease", "soon"])
            #expect(lease.status == 2)
            #expect(lease.errors.contains("WORKER_LEASE"), "\(lease.errors)")
            // Sooner than a purchase may still write its order: refused.
            let age = try await stores.flashsale(["worker", "--ledger-age", "5s"])
            #expect(age.status == 2)
            #expect(age.errors.contains("LEDGER_SWEEP_AGE: must be at least 30s"), "\(age.errors)")
        }
    }

    @Test func jobsShowsTheQueueListsDeadJobsAndRequeuesThem() async throws {
        try await OperatorStores.with { stores in
            try await stores.postgres.query(
                """
                INSERT INTO jobs (kind, payload, status, attempts, last_error) VALUES
                  ('email', '{"order_id":"x","event":"order_paid"}', 'dead', 10, 'provider answered 400: bad address'),
                  ('email', '{}', 'pending', 0, NULL), ('order_expiry', '{}', 'pending', 0, NULL)
                """, logger: TestDatabase.logger)
            let status = try await stores.flashsale(["jobs"])
            #expect(status.status == 0)
            #expect(status.output.contains("kind"))
            #expect(status.output.split(separator: "\n").contains { $0.hasPrefix("email") && $0.hasSuffix("1") })
            #expect(status.output.contains("oldest due job waiting"))

            let dead = try await stores.flashsale(["jobs", "dead"])
            #expect(dead.output.contains("provider answered 400: bad address"), "\(dead.output)")

            let wrong = try await stores.flashsale(["jobs", "requeue", "999999"])
            #expect(wrong.status == 1)
            #expect(wrong.errors.contains("1 of the ids is not a dead job"))
            let none = try await stores.flashsale(["jobs", "requeue"])
            #expect(none.status != 0, "neither ids nor --all")

            let requeued = try await stores.flashsale(["jobs", "requeue", "--all"])
            #expect(requeued.output.contains("re-queued 1 dead job"), "\(requeued.output)")
            #expect(try await Self.scalar(stores, "SELECT count(*) FROM jobs WHERE status = 'pending'") == 3)
        }
    }
}
