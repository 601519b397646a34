import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// PostgreSQL and Redis for an operator's command: checked before the work starts (so a wrong URL
/// is one clear line), closed when it ends.
enum Stores {
    static func with<Result: Sendable>(
        _ configuration: FlashSaleConfiguration, logger: Logger,
        _ body: @Sendable (PostgresClient, RedisClient) async throws -> Result
    ) async throws -> Result {
        try await DatabaseProbe.check(configuration.database, logger: logger)
        let redis = RedisClient(configuration: configuration.redis)
        do {
            _ = try await redis.send("PING")
        } catch {
            await redis.close()
            throw CommandFailure("cannot reach Redis at \(configuration.redis.host):\(configuration.redis.port): \(error)")
        }
        let postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(maxConnections: 4), backgroundLogger: logger.poolLogger)
        do {
            let result = try await postgres.whileRunning { postgres in
                do {
                    return try await body(postgres, redis)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
                    throw CommandFailure("the database has no FlashSale tables yet; run `flashsale migrate` first")
                } catch let error as PSQLError {
                    throw CommandFailure("PostgreSQL: \(PostgresErrorText.describe(error))")
                } catch let error as RedisError {
                    throw CommandFailure("Redis: \(error)")
                }
            }
            await redis.close()
            return result
        } catch {
            await redis.close()
            throw error
        }
    }
}
