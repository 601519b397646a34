import ArgumentParser
import FlashSale
import FlashSaleHTTP
import Foundation
import Hummingbird

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service (migrates PostgreSQL first).",
        discussion: "Stops gracefully on SIGINT/SIGTERM: in-flight requests finish, then the pools close.")

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

    @Option(name: .customLong("jwt-max-lifetime-seconds"), help: "Longest shopper-token lifetime, exp - iat (env JWT_MAX_LIFETIME_SECONDS, default 86400).")
    var jwtMaxLifetime: String?

    @Option(name: .customLong("order-write-lock-timeout-ms"), help: "How long an order write waits for a row lock before the batch is answered 503 (env ORDER_WRITE_LOCK_TIMEOUT_MS, default 2000, at most 9000).")
    var orderWriteLockTimeout: String?

    @Option(name: .customLong("order-write-statement-timeout-ms"), help: "How long an order write may run (env ORDER_WRITE_STATEMENT_TIMEOUT_MS, default 5000, at most 9000).")
    var orderWriteStatementTimeout: String?

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
            }
            let migrations = try connection.migrations()
            try await AppLogger.runningService("flashsale", database: configuration.database) { logger in
                let app = await buildApplication(configuration: configuration, migrations: migrations, logger: logger)
                try await app.runService()
            }
        }
    }
}
