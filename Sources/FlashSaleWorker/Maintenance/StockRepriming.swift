import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// Heals a Redis that lost its data. A sale that is not over and whose `primed` marker is gone from
/// Redis is rebuilt from PostgreSQL with the same logic as `flashsale reconcile --repair` (stock
/// minus units in checkout and releases still queued, and each shopper's count), by one worker at a
/// time (a lock key in Redis), with no operator. Until then its purchases answer 503.
public struct StockRepriming: Sendable {
    /// A worker that dies while priming holds the lock at most this long.
    static let lockLifetimeSeconds: Int64 = 120

    let postgres: PostgresClient
    let redis: RedisClient
    let owner: String
    let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, owner: String, logger: Logger) {
        self.postgres = postgres
        self.redis = redis
        self.owner = owner
        self.logger = logger
    }

    /// Re-primes every sale that needs it; answers the sales it re-primed.
    @discardableResult
    public func run() async throws -> [String] {
        let sales = try await postgres.query("SELECT id FROM sales WHERE ends_at > now()", logger: logger)
            .decode(String.self).collectAll()
        var reprimed: [String] = []
        for sale in sales where try await needsPriming(sale) {
            if try await reprime(sale) { reprimed.append(sale) }
        }
        return reprimed
    }

    func needsPriming(_ saleID: String) async throws -> Bool {
        try await redis.send("EXISTS", .string(RedisKeys(saleID: saleID).primed)).integer == 0
    }

    /// False when another worker holds the sale's lock, or the sale kept selling during every attempt.
    func reprime(_ saleID: String) async throws -> Bool {
        let keys = RedisKeys(saleID: saleID)
        let locked = try await redis.send(
            "SET", .string(keys.priming), .string(owner), "NX", "EX", .integer(Self.lockLifetimeSeconds))
        guard !locked.isNull else { return false }
        logger.warning("sale missing from Redis; re-priming it from PostgreSQL", metadata: ["sale": "\(saleID)"])
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let report = try await StockReconciler(postgres: postgres, redis: redis, logger: logger)
                .run(saleID: saleID, mode: .repair)
            try await release(keys)
            logger.notice(
                "sale re-primed",
                metadata: [
                    "sale": "\(saleID)", "skus": "\(report.skusCompared)", "stock_rewritten": "\(report.differenceCount)",
                    "counts_rewritten": "\(report.countsDiffering)", "busy": "\(report.busySKUs.count)",
                    "attempts": "\(report.attempts)", "fenced": "\(report.fencedSKUs)",
                    "elapsed": "\(clock.now - started)",
                ])
            return report.busySKUs.isEmpty
        } catch {
            try? await release(keys)
            throw error
        }
    }

    private func release(_ keys: RedisKeys) async throws {
        let holder = try await redis.send("GET", .string(keys.priming))
        if holder.string == owner { _ = try await redis.send("DEL", .string(keys.priming)) }
    }
}
