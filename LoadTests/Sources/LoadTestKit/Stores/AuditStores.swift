import FlashSale
import Logging
import PostgresNIO
import RedisClient

/// PostgreSQL and Redis read directly (not through the service): the tool seeds the scenario's
/// sale with them, samples the stock while it runs and audits both afterwards.
public struct AuditStores: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, logger: Logger) {
        self.postgres = postgres
        self.redis = redis
        self.logger = logger
    }

    /// Opens both stores for the length of `body`, checking each first so a wrong URL is one line.
    public static func with<Value: Sendable>(
        database: DatabaseURL, redis configuration: RedisConfiguration, logger: Logger,
        _ body: @Sendable (AuditStores) async throws -> Value
    ) async throws -> Value {
        try await DatabaseProbe.check(database, logger: logger)
        let postgres = PostgresClient(configuration: database.clientConfiguration(maxConnections: 4), backgroundLogger: logger)
        return try await postgres.whileRunning { postgres in
            let redis = RedisClient(configuration: configuration)
            let outcome: Result<Value, any Error>
            do {
                _ = try await redis.send("PING")
                do {
                    outcome = .success(try await body(AuditStores(postgres: postgres, redis: redis, logger: logger)))
                } catch {
                    outcome = .failure(error)
                }
            } catch {
                outcome = .failure(
                    ScenarioError("cannot reach Redis at \(configuration.host):\(configuration.port): \(error)"))
            }
            await redis.close()
            return try outcome.get()
        }
    }
}
