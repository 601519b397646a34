import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// PostgreSQL and Redis for an operator's command: checked before the work starts (so a wrong URL
/// is one clear line), closed when it ends.
enum Stores {
    static func with<Value: Sendable>(
        _ configuration: FlashSaleConfiguration, logger: Logger,
        _ body: @Sendable (PostgresClient, RedisClient) async throws -> Value
    ) async throws -> Value {
        try await withPostgres(configuration, maxConnections: 4, logger: logger) { postgres in
            try await withRedis(configuration) { redis in try await body(postgres, redis) }
        }
    }

    /// Redis alone: pinged first, so a wrong URL or a server that is down is one line.
    static func withRedis<Value: Sendable>(
        _ configuration: FlashSaleConfiguration, _ body: @Sendable (RedisClient) async throws -> Value
    ) async throws -> Value {
        let redis = RedisClient(configuration: configuration.redis)
        let outcome: Result<Value, any Error>
        do {
            _ = try await redis.send("PING")
            do {
                outcome = .success(try await body(redis))
            } catch {
                outcome = .failure(operatorFailure(error))
            }
        } catch {
            outcome = .failure(
                CommandFailure("cannot reach Redis at \(configuration.redis.host):\(configuration.redis.port): \(error)"))
        }
        await redis.close()
        return try outcome.get()
    }

    /// PostgreSQL alone: probed first, so a wrong URL or a server that is down is one line.
    static func withPostgres<Value: Sendable>(
        _ configuration: FlashSaleConfiguration, maxConnections: Int, logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> Value
    ) async throws -> Value {
        try await DatabaseProbe.check(configuration.database, logger: logger)
        let postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(maxConnections: maxConnections),
            backgroundLogger: logger.poolLogger)
        return try await postgres.whileRunning(body)
    }

    /// Store errors as one line for the operator; anything else as it is.
    private static func operatorFailure(_ error: any Error) -> any Error {
        switch error {
        case let error as PSQLError where error.serverInfo?[.sqlState] == "42P01":
            CommandFailure("the database has no FlashSale tables yet; run `flashsale migrate` first")
        case let error as PSQLError: CommandFailure("PostgreSQL: \(PostgresErrorText.describe(error))")
        case let error as RedisError: CommandFailure("Redis: \(error)")
        default: error
        }
    }
}
