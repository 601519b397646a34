import ArgumentParser
import FlashSale
import FlashSaleHTTP
import Foundation
import LoadTestKit
import Logging
import PostgresNIO

/// Where the stores are and how the service signs its JWTs: each flag overrides the environment
/// variable the service itself reads.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("redis-url"), help: "Redis URL redis://[:password@]host:port/db (env REDIS_URL).")
    var redisURL: String?

    @Option(name: .customLong("jwt-secret"), help: "The service's HS256 secret, to sign the shoppers' JWTs (env JWT_SECRET).")
    var jwtSecret: String?

    func configuration(requireSecret: Bool) throws -> FlashSaleConfiguration {
        var flags = FlashSaleConfiguration.Settings()
        flags.databaseURL = databaseURL
        flags.redisURL = redisURL
        flags.jwtSecret = jwtSecret
        let environment = FlashSaleConfiguration.Settings(environment: ProcessInfo.processInfo.environment)
        do {
            return try FlashSaleConfiguration(environment.overridden(by: flags), requireSecret: requireSecret)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func withStores<Value: Sendable>(
        _ configuration: FlashSaleConfiguration, _ body: @Sendable (AuditStores) async throws -> Value
    ) async throws -> Value {
        var logger = Logger(label: "flashsale-loadtest")
        logger.logLevel = .warning
        return try await AuditStores.with(database: configuration.database, redis: configuration.redis, logger: logger, body)
    }
}

/// Progress for people: one line at a time on standard error, so standard output stays the summary.
func progressLine(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A failure the user can act on, printed as one line instead of a stack trace.
func failing(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ScenarioError {
        progressLine("flashsale-loadtest: \(error.description)")
        throw ExitCode(2)
    } catch let error as ConfigurationError {
        progressLine("flashsale-loadtest: \(error)")
        throw ExitCode(2)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as PSQLError {
        progressLine("flashsale-loadtest: PostgreSQL: \(PostgresErrorText.describe(error))")
        throw ExitCode(1)
    } catch {
        progressLine("flashsale-loadtest: \(error)")
        throw ExitCode(1)
    }
}
