import ArgumentParser
import FlashSale
import FlashSaleHTTP
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service (migrates PostgreSQL first).",
        discussion: """
            Stops gracefully on SIGINT/SIGTERM: no new connections, idle ones close, in-flight requests \
            finish, then the pools close. Requests still running after --shutdown-timeout are cut (their \
            connections closed; a purchase among them settles as after a crash) and the process exits, \
            at the latest a second later.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("host"), help: "Address to listen on (env HTTP_HOST, default 127.0.0.1).")
    var host: String?

    @Option(name: .customLong("port"), help: "Port to listen on (env HTTP_PORT, default 8080).")
    var port: String?

    @Option(name: .customLong("jwt-secret"), help: "HS256 secret for shopper tokens, at least 32 bytes (env JWT_SECRET).")
    var jwtSecret: String?

    @Option(name: .customLong("jwt-issuer"), help: "Required `iss` of shopper tokens (env JWT_ISSUER; default: not checked).")
    var jwtIssuer: String?

    @Option(name: .customLong("jwt-audience"), help: "Required `aud` of shopper tokens (env JWT_AUDIENCE; default: not checked).")
    var jwtAudience: String?

    @Option(
        name: .customLong("jwt-max-lifetime-seconds"),
        help: "Longest shopper-token lifetime, exp - iat (env JWT_MAX_LIFETIME_SECONDS, default 86400).")
    var jwtMaxLifetime: String?

    @Option(
        name: .customLong("order-write-lock-timeout-ms"),
        help:
            "How long an order write waits for a row lock before the batch is answered 503 (env ORDER_WRITE_LOCK_TIMEOUT_MS, default 2000, at most 9000)."
    )
    var orderWriteLockTimeout: String?

    @Option(
        name: .customLong("order-write-statement-timeout-ms"),
        help: "How long an order write may run (env ORDER_WRITE_STATEMENT_TIMEOUT_MS, default 5000, at most 9000).")
    var orderWriteStatementTimeout: String?

    @Option(
        name: .customLong("rate-limits"),
        help:
            "on: hold each route group to its limits (the defaults, or RATE_LIMITS_FILE's); off: no limits (env RATE_LIMITS, default on)."
    )
    var rateLimits: String?

    @Option(
        name: .customLong("rate-limits-file"),
        help: "JSON file of rate limits per route group, replacing those groups' defaults; see the README (env RATE_LIMITS_FILE)."
    )
    var rateLimitsFile: String?

    @Option(
        name: .customLong("trusted-proxies"),
        help:
            "IP addresses and CIDR ranges whose X-Forwarded-For names the client, comma-separated (env TRUSTED_PROXIES, default none)."
    )
    var trustedProxies: String?

    @Option(
        name: .customLong("rate-limit-allowlist"),
        help:
            "Client IP addresses and CIDR ranges never rate-limited nor blocked: internal callers (env RATE_LIMIT_ALLOWLIST, default none)."
    )
    var rateLimitAllowList: String?

    @Option(
        name: .customLong("load-shedding"),
        help:
            "on: past an adaptive limit on requests in flight, shed reads first, purchases and payments last, with 503 (env LOAD_SHEDDING, default on)."
    )
    var loadShedding: String?

    @Option(
        name: .customLong("load-shedding-max-in-flight"),
        help: "The highest the adaptive limit may grow to (env LOAD_SHEDDING_MAX_IN_FLIGHT, default 4096).")
    var loadSheddingMaxInFlight: String?

    @Option(
        name: .customLong("idle-timeout"),
        help: "Close a connection with no request in progress after this long: 60s, 2m (env HTTP_IDLE_TIMEOUT, default 60s).")
    var idleTimeout: String?

    @Option(
        name: .customLong("request-read-timeout"),
        help:
            "A request's head and body must arrive within this of its first byte, or the connection is closed (env HTTP_REQUEST_READ_TIMEOUT, default 10s)."
    )
    var requestReadTimeout: String?

    @Option(
        name: .customLong("max-connections"),
        help: "Open connections beyond this are closed when accepted (env HTTP_MAX_CONNECTIONS, default 10000).")
    var maxConnections: String?

    @Option(
        name: .customLong("shutdown-timeout"),
        help:
            "After SIGTERM/SIGINT, how long in-flight requests may take before they are cut (env SHUTDOWN_TIMEOUT, default 25s).")
    var shutdownTimeout: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: true) { overrides in
                overrides.httpHost = host
                overrides.httpPort = port
                overrides.jwtSecret = jwtSecret
                overrides.jwtIssuer = jwtIssuer
                overrides.jwtAudience = jwtAudience
                overrides.jwtMaxLifetimeSeconds = jwtMaxLifetime
                overrides.orderWriteLockTimeoutMilliseconds = orderWriteLockTimeout
                overrides.orderWriteStatementTimeoutMilliseconds = orderWriteStatementTimeout
                overrides.rateLimits = rateLimits
                overrides.rateLimitsFile = rateLimitsFile
                overrides.trustedProxies = trustedProxies
                overrides.rateLimitAllowList = rateLimitAllowList
                overrides.loadShedding = loadShedding
                overrides.loadSheddingMaxInFlight = loadSheddingMaxInFlight
            }
            var flags = ServeLimits.Settings()
            flags.idleTimeout = idleTimeout
            flags.requestReadTimeout = requestReadTimeout
            flags.maximumConnections = maxConnections
            flags.shutdownTimeout = shutdownTimeout
            let limits = try ServeLimits(
                ServeLimits.Settings(environment: ProcessInfo.processInfo.environment).overridden(by: flags))
            let migrations = try connection.migrations()
            try await AppLogger.runningService("flashsale", database: configuration.database) { logger in
                FileDescriptorLimit.raise(toServe: limits.connections.maximumConnections, logger: logger)
                let app = await buildApplication(
                    configuration: configuration, limits: limits.connections, migrations: migrations, logger: logger)
                try await Self.run(app, shutdownTimeout: limits.shutdownTimeout, logger: logger)
            }
        }
    }

    /// Runs `app` until SIGTERM/SIGINT, then shuts it down within `shutdownTimeout`: past it the
    /// service group cancels what is still running (the server cuts its connections, the pools
    /// close), and ``ShutdownBackstop`` ends the process if even that hangs.
    static func run(_ app: some Service, shutdownTimeout: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                // Last, so the first to hear of the shutdown; it returns at once.
                .init(service: ShutdownBackstop(timeout: shutdownTimeout, logger: logger), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownTimeout
        try await ServiceGroup(configuration: configuration).run()
    }
}
