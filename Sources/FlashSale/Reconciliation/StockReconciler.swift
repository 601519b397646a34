import Foundation
import Logging
import PostgresNIO
import RedisClient

/// Compares a sale's Redis state with PostgreSQL, the stock of record, and optionally rewrites
/// Redis from it: stock per SKU and each shopper's purchase counts, so it also rebuilds a sale
/// whose Redis lost its data. Safe while the sale is selling: see `reconcile(_:skus:)`.
public struct StockReconciler: Sendable {
    public enum Mode: String, Sendable {
        case check, repair
    }

    /// SKUs per round trip.
    static let batchSize = 500
    /// Attempts at a consistent view of a SKU that is selling right now.
    static let attempts = 20

    let postgres: PostgresClient
    let redis: RedisClient
    let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, logger: Logger) {
        self.postgres = postgres
        self.redis = redis
        self.logger = logger
    }

    public func run(saleID: String, mode: Mode) async throws -> ReconcileReport {
        var report = ReconcileReport()
        var after = ""
        while true {
            let skus = try await postgres.query(
                """
                SELECT sku FROM inventory WHERE sale_id = \(saleID) AND sku > \(after) ORDER BY sku LIMIT \(Self.batchSize)
                """, logger: logger
            ).decode(String.self).collectAll()
            guard let last = skus.last else { break }
            try await reconcile(saleID: saleID, skus: skus, mode: mode, into: &report)
            report.skusCompared += skus.count
            after = last
        }
        if mode == .repair && report.busySKUs.isEmpty {
            try await StockPriming(redis: redis).markPrimed(saleID: saleID)
        }
        return report
    }

    /// A SKU's figures are read from PostgreSQL and compared in Redis at two different instants. An
    /// order committing (or a cancel) in between would make the comparison wrong, and every such
    /// change bumps the SKU's `version`; so a SKU's result only counts when its version is the same
    /// before the ledger is read and after the script ran. Changed SKUs are tried again.
    private func reconcile(saleID: String, skus: [String], mode: Mode, into report: inout ReconcileReport)
        async throws
    {
        var pending = skus
        var versionsBefore = try await versions(saleID: saleID, skus: pending)
        for _ in 0..<Self.attempts where !pending.isEmpty {
            let ledger = try await redis.send("ZRANGE", .string(RedisKeys(saleID: saleID).reservations), "0", "-1")
            let tokens = (ledger.array ?? []).compactMap(\.string)
            let snapshot = try await self.snapshot(saleID: saleID, skus: pending, ledgerTokens: tokens)
            let reply = try await runScript(saleID: saleID, mode: mode, snapshot: snapshot)
            let versionsAfter = try await versions(saleID: saleID, skus: pending)
            var changed: [String] = []
            for (index, item) in snapshot.items.enumerated() {
                guard versionsBefore[item.sku] == versionsAfter[item.sku], item.version == versionsAfter[item.sku] else {
                    changed.append(item.sku)
                    continue
                }
                let base = index * 4
                let (redisValue, expected, inCheckout, releases) = (
                    reply[base], reply[base + 1], reply[base + 2], reply[base + 3]
                )
                if redisValue != expected {
                    report.differenceCount += 1
                    if report.differences.count < ReconcileReport.keptDifferences {
                        report.differences.append(
                            StockDifference(
                                sku: item.sku, postgresAvailable: item.available, inCheckout: inCheckout,
                                releasesPending: releases, expectedRedis: expected, redis: redisValue < 0 ? nil : redisValue))
                    }
                }
            }
            // Counts are judged per batch; a batch with a changed SKU is looked at again.
            if changed.isEmpty { report.countsDiffering += Int(reply.last ?? 0) }
            pending = changed
            versionsBefore = versionsAfter
        }
        report.busySKUs += pending
    }

    struct Item {
        let sku: String
        let available: Int64
        let version: Int64
    }

    struct Snapshot {
        var items: [Item] = []
        var committedTokens: [String] = []
        var releases: [(order: String, sku: String, shopper: String, units: Int64)] = []
        var counts: [(shopper: String, sku: String, units: Int64)] = []
    }

    private func versions(saleID: String, skus: [String]) async throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        let rows = try await postgres.query(
            "SELECT sku, version FROM inventory WHERE sale_id = \(saleID) AND sku = ANY(\(skus))", logger: logger)
        for try await (sku, version) in rows.decode((String, Int64).self) { versions[sku] = version }
        return versions
    }

    /// Everything PostgreSQL knows about the batch, from one consistent snapshot.
    private func snapshot(saleID: String, skus: [String], ledgerTokens: [String]) async throws -> Snapshot {
        try await postgres.withConnection { connection in
            try await connection.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var snapshot = Snapshot()
                snapshot.items = try await connection.query(
                    """
                    SELECT sku, available::bigint, version FROM inventory
                    WHERE sale_id = \(saleID) AND sku = ANY(\(skus)) ORDER BY sku
                    """, logger: logger
                ).decode((String, Int64, Int64).self).collectAll().map { Item(sku: $0.0, available: $0.1, version: $0.2) }
                if !ledgerTokens.isEmpty {
                    snapshot.committedTokens = try await connection.query(
                        "SELECT checkout_token FROM orders WHERE checkout_token = ANY(\(ledgerTokens))", logger: logger
                    ).decode(String.self).collectAll()
                }
                snapshot.releases = try await connection.query(
                    """
                    SELECT payload->>'order_id', payload->>'sku', payload->>'shopper_id', (payload->>'quantity')::bigint
                    FROM jobs WHERE kind = 'redis_release' AND status IN ('pending', 'running')
                      AND payload->>'sale_id' = \(saleID) AND payload->>'sku' = ANY(\(skus))
                    """, logger: logger
                ).decode((String, String, String, Int64).self).collectAll().map { ($0.0, $0.1, $0.2, $0.3) }
                snapshot.counts = try await connection.query(
                    """
                    SELECT shopper_id, sku, sum(quantity)::bigint FROM orders
                    WHERE sale_id = \(saleID) AND sku = ANY(\(skus)) AND status IN ('reserved', 'paying', 'paid')
                    GROUP BY shopper_id, sku
                    """, logger: logger
                ).decode((String, String, Int64).self).collectAll().map { ($0.0, $0.1, $0.2) }
                try await connection.query("COMMIT", logger: logger)
                return snapshot
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private func runScript(saleID: String, mode: Mode, snapshot: Snapshot) async throws -> [Int64] {
        let keys = RedisKeys(saleID: saleID)
        var scriptKeys: [RedisArgument] = [.string(keys.reservations)]
        scriptKeys += snapshot.items.map { .string(keys.stock($0.sku)) }
        scriptKeys += snapshot.counts.map { .string(keys.bought(shopper: $0.shopper, sku: $0.sku)) }
        var arguments: [RedisArgument] = [
            .string(mode.rawValue), .string(keys.prefix), .integer(Int64(snapshot.items.count)),
            .integer(Int64(snapshot.committedTokens.count)), .integer(Int64(snapshot.releases.count)),
            .integer(Int64(snapshot.counts.count)),
        ]
        for item in snapshot.items { arguments += [.string(item.sku), .integer(item.available)] }
        arguments += snapshot.committedTokens.map { .string($0) }
        for release in snapshot.releases {
            arguments += [.string(release.order), .string(release.sku), .string(release.shopper), .integer(release.units)]
        }
        for count in snapshot.counts { arguments += [.string(count.shopper), .string(count.sku), .integer(count.units)] }
        let reply = try await redis.run(ReconcileScript.script, keys: scriptKeys, arguments: arguments)
        let values = (reply.array ?? []).compactMap(\.integer)
        guard values.count == snapshot.items.count * 4 + 1 else {
            throw RedisError.protocolError("reconcile script answered \(reply)")
        }
        return values
    }
}
