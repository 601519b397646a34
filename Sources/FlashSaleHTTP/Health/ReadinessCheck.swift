import FlashSale
import Logging
import PostgresNIO
import RedisClient

/// Answers "can this instance serve purchases right now?" by touching Redis and PostgreSQL.
/// Each probe has its own deadline so /readyz answers within a second even when a server hangs.
struct ReadinessCheck: Sendable {
    static let probeTimeout = Duration.milliseconds(800)

    let postgres: PostgresClient
    let redis: RedisClient
    let logger: Logger

    struct Result: Sendable {
        var redis: Bool
        var postgres: Bool
        var ready: Bool { redis && postgres }
    }

    func check() async -> Result {
        async let redisUp = probeRedis()
        async let postgresUp = probePostgres()
        return await Result(redis: redisUp, postgres: postgresUp)
    }

    private func probeRedis() async -> Bool {
        (try? await redis.send(["PING"], timeout: Self.probeTimeout)) == .status("PONG")
    }

    private func probePostgres() async -> Bool {
        do {
            try await Deadline.run(Self.probeTimeout) {
                try await postgres.query("SELECT 1", logger: logger)
            }
            return true
        } catch {
            return false
        }
    }
}
