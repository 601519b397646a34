import ArgumentParser
import AsyncHTTPClient
import CircuitBreaking
import FlashSale
import FlashSaleEmail
import FlashSaleHTTP
import FlashSaleWorker
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the background worker: order expiry, Redis releases, e-mails, the ledger sweep.",
        discussion: """
            Leases due jobs from PostgreSQL (FOR UPDATE SKIP LOCKED), so any number of workers may run \
            at once, on one machine or many; a worker that dies loses its leases and its jobs run \
            again elsewhere. Beside the jobs it sweeps the reservation ledger (units deducted in Redis \
            whose purchase never committed go back after --ledger-age) and rebuilds from PostgreSQL \
            a sale whose Redis lost its data.

            E-mails go to EMAIL_PROVIDER_URL (JSON POST, Idempotency-Key per order event, signed \
            with EMAIL_SIGNING_SECRET in the FlashSale-Signature header), or, without one, as .eml \
            files into EMAIL_OUTBOX_DIR (default .local/outbox). Delivery is limited for all workers \
            together: EMAIL_RATE_PER_SECOND (default 50), EMAIL_BURST (50), and the provider's \
            EMAIL_QUOTA_PER_MINUTE / _PER_HOUR / _PER_DAY, each used at 90%.

            Serves /metrics, /healthz and /readyz on its own port. Stops gracefully on SIGINT/SIGTERM: \
            no new leases, the jobs it holds are finished.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("metrics-host"), help: "Address of the metrics port (env WORKER_METRICS_HOST, default 127.0.0.1).")
    var metricsHost: String?

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics (env WORKER_METRICS_PORT, default 9091; 0 picks one).")
    var metricsPort: String?

    @Option(
        help:
            "How long a dead worker's jobs stay leased before another worker takes them over: 30s, 2m (env WORKER_LEASE, default 30s; a live worker renews its leases)."
    )
    var lease: String?

    @Option(
        name: .customLong("ledger-age"),
        help: "Ledger entries older than this are settled from PostgreSQL; at least 30s (env LEDGER_SWEEP_AGE, default 30s).")
    var ledgerAge: String?

    @Option(name: .customLong("email-provider-url"), help: "E-mail provider endpoint (env EMAIL_PROVIDER_URL).")
    var emailProviderURL: String?

    @Option(name: .customLong("email-outbox-dir"), help: "Folder for .eml files when no provider is set (env EMAIL_OUTBOX_DIR).")
    var emailOutboxDirectory: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: false)
            var environment = ProcessInfo.processInfo.environment
            if let emailProviderURL { environment["EMAIL_PROVIDER_URL"] = emailProviderURL }
            if let emailOutboxDirectory { environment["EMAIL_OUTBOX_DIR"] = emailOutboxDirectory }
            let email: EmailSettings
            do {
                email = try EmailSettings(environment: environment)
            } catch {
                throw CommandFailure("\(error)", exitCode: 2)
            }
            var settings = Worker.Settings()
            settings.leaseDuration = try Self.span(lease ?? environment["WORKER_LEASE"], name: "WORKER_LEASE", default: 30)
            settings.ledgerAge = try Self.span(
                ledgerAge ?? environment["LEDGER_SWEEP_AGE"], name: "LEDGER_SWEEP_AGE", default: 30)
            // Sooner, the sweep could give back units a purchase is still allowed to commit.
            guard settings.ledgerAge >= LedgerBound.minimumSweepAge else {
                throw CommandFailure(
                    "configuration error: LEDGER_SWEEP_AGE: must be at least \(LedgerBound.minimumSweepAge.components.seconds)s (a purchase may write its order for up to \(LedgerBound.writeWindow.components.seconds)s, and a write lasts up to 10s)",
                    exitCode: 2)
            }
            let host = metricsHost ?? environment["WORKER_METRICS_HOST"] ?? "127.0.0.1"
            let portText = metricsPort ?? environment["WORKER_METRICS_PORT"] ?? "9091"
            guard let port = Int(portText), (0...65535).contains(port) else {
                throw CommandFailure(
                    "configuration error: WORKER_METRICS_PORT: '\(portText)' is not a port from 0 to 65535", exitCode: 2)
            }

            _ = PrometheusMetrics.registry
            try await AppLogger.runningService("flashsale.worker", database: configuration.database) { logger in
                try await Self.serve(
                    configuration: configuration, email: email, settings: settings, metricsHost: host, metricsPort: port,
                    logger: logger)
            }
        }
    }

    static func span(_ text: String?, name: String, default value: Int64) throws -> Duration {
        guard let text else { return .seconds(value) }
        guard let seconds = TimeSpan.seconds(text) else {
            throw CommandFailure("configuration error: \(name): '\(text)' is not a duration such as 30s or 2m", exitCode: 2)
        }
        return .seconds(seconds)
    }

    static func serve(
        configuration: FlashSaleConfiguration, email: EmailSettings, settings: Worker.Settings, metricsHost: String,
        metricsPort: Int, logger: Logger
    ) async throws {
        let postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(
                maxConnections: configuration.databaseMaxConnections, alwaysOpen: true),
            backgroundLogger: logger.poolLogger)
        let redis = RedisClient(configuration: configuration.redis)
        let metrics = WorkerMetrics()
        let httpClient: HTTPClient?
        let sender: any EmailSender
        switch email.delivery {
        case .provider(let url, let secret):
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: HTTPEmailSender.clientConfiguration())
            httpClient = client
            sender = BreakerGuardedSender(
                wrapping: HTTPEmailSender(url: url, signingSecret: secret, client: client),
                onTransition: { transition in
                    metrics.breakerState(transition.to.rawValue)
                    logger.warning("e-mail provider \(transition)")
                })
            logger.notice("e-mails go to the provider", metadata: ["url": "\(url)"])
        case .outbox(let directory):
            httpClient = nil
            sender = OutboxEmailSender(directory: directory, from: email.from)
            logger.notice("no EMAIL_PROVIDER_URL: e-mails are written as .eml files", metadata: ["outbox": "\(directory.path)"])
        }
        // Exported from the start, not from the first transition (the outbox has no breaker: closed).
        metrics.breakerState(CircuitBreaker.State.closed.rawValue)
        let permits = RateLimitedPermits(
            EmailRateLimiter(client: redis, limits: email.rateLimits, onWait: { _ in metrics.rateLimitWait() }))
        let emailHandler = EmailJobHandler(
            postgres: postgres, sender: sender, permits: permits, metrics: metrics, logger: logger)
        let worker = Worker(
            settings: settings, postgres: postgres, redis: redis,
            handlers: Worker.standardHandlers(postgres: postgres, redis: redis, email: emailHandler, logger: logger),
            metrics: metrics, logger: logger)
        let metricsApp = buildMetricsApplication(
            host: metricsHost, port: metricsPort, postgres: postgres, redis: redis, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: postgres), .init(service: redis),
                    .init(service: metricsApp, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await httpClient?.shutdown()
            throw error
        }
        try await httpClient?.shutdown()
    }
}
