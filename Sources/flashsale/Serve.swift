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

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: true) { overrides in
                overrides.httpHost = host
                overrides.httpPort = port
                overrides.jwtSecret = jwtSecret
            }
            let migrations = try connection.migrations()
            try await AppLogger.runningService("flashsale", database: configuration.database) { logger in
                let app = await buildApplication(configuration: configuration, migrations: migrations, logger: logger)
                try await app.runService()
            }
        }
    }
}
