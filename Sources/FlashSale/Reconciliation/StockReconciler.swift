import Foundation
import Logging
import PostgresNIO
import RedisClient

/// Compares a sale's Redis state with PostgreSQL, the stock of record, and optionally rewrites
/// Redis from it: stock per SKU and each shopper's purchase counts, so it also rebuilds a sale
/// whose Redis lost its data. Safe while the sale is selling: see
/// `reconcile(saleID:skus:mode:into:)`.
public struct StockReconciler: Sendable {
    public enum Mode: String, Sendable {
        case check, repair
    }

    /// SKUs per round trip.
    static let batchSize = 500
    /// Attempts at a consistent view of a SKU that is selling right now, and how many of them a
    /// repair makes before it fences the SKU. A fenced attempt fails only when a purchase is given
    /// back or a cancelled order released during it.
    static let attempts = 10
    static let attemptsBeforeFence = 4
    /// Between attempts: a purchase lands every few milliseconds on a hot SKU, so waiting long
    /// gains nothing; the jitter keeps two repairs from refusing each other in step.
    static let backoff = RetryBackoff(base: .milliseconds(10), ceiling: .milliseconds(100))

    let postgres: PostgresClient
    let redis: RedisClient
    let logger: Logger
    /// Called after each attempt's reads and before its script (attempts count from 1): the tests
    /// hold a repair in that gap while an order commits.
    var beforeScript: (@Sendable (_ attempt: Int) async throws -> Void)?

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

    /// A SKU's figures come from PostgreSQL and Redis at different instants, and the expected Redis
    /// values are PostgreSQL's adjusted by the reservation ledger. Each attempt reads the ledger and
    /// the SKUs' change counts (one instant), then PostgreSQL, then judges in one script that
    /// compares and writes only SKUs whose change count did not move (see `ReconcileScript`): a
    /// SKU a purchase, compensation or release touched meanwhile is left as it is and tried again
    /// after a back-off. A repair fences a SKU that changed during every unfenced attempt, so that
    /// even the hottest SKU holds still for one comparison.
    private func reconcile(saleID: String, skus: [String], mode: Mode, into report: inout ReconcileReport)
        async throws
    {
        let fence = RepairFence(redis: redis, saleID: saleID, holder: UUID().uuidString)
        var pending = skus
        var attempt = 0
        while !pending.isEmpty && attempt < Self.attempts {
            if attempt > 0 { try await Task.sleep(for: Self.backoff.delay(afterAttempt: attempt)) }
            attempt += 1
            let verdicts: [Verdict]
            let fenced = mode == .repair && attempt > Self.attemptsBeforeFence
            if fenced {
                verdicts = try await fence.around(pending) {
                    try await compare(saleID: saleID, skus: pending, mode: mode, attempt: attempt)
                }
            } else {
                verdicts = try await compare(saleID: saleID, skus: pending, mode: mode, attempt: attempt)
            }
            var changed: [String] = []
            for verdict in verdicts {
                guard let judged = verdict.judged else {
                    changed.append(verdict.sku)
                    continue
                }
                report.countsDiffering += judged.countsDiffering
                if let difference = judged.difference {
                    report.differenceCount += 1
                    if report.differences.count < ReconcileReport.keptDifferences {
                        report.differences.append(difference)
                    }
                }
            }
            if fenced { report.fencedSKUs += verdicts.count - changed.count }
            pending = changed
        }
        report.busySKUs += pending
        report.attempts = max(report.attempts, attempt)
    }

    /// One SKU's outcome of an attempt: nil `judged` when it changed while being compared.
    struct Verdict {
        struct Judged {
            let difference: StockDifference?
            let countsDiffering: Int
        }

        let sku: String
        let judged: Judged?
    }

    /// One attempt: the ledger and change counts, PostgreSQL, then the judging script.
    private func compare(saleID: String, skus: [String], mode: Mode, attempt: Int) async throws -> [Verdict] {
        let keys = RedisKeys(saleID: saleID)
        let readings = try await redis.run(
            ReconcileScript.readings, keys: [.string(keys.reservations)] + skus.map { .string(keys.changes($0)) },
            arguments: [])
        guard let parts = readings.array, parts.count == 2, let changeCounts = parts[1].array?.compactMap(\.integer),
            changeCounts.count == skus.count
        else { throw RedisError.protocolError("reconcile readings answered \(readings)") }
        let ledger = (parts[0].array ?? []).compactMap(\.string)
        let changes = Dictionary(uniqueKeysWithValues: zip(skus, changeCounts))
        let snapshot = try await self.snapshot(saleID: saleID, skus: skus, ledgerTokens: ledger)
        try await beforeScript?(attempt)
        let reply = try await runScript(saleID: saleID, mode: mode, snapshot: snapshot, changes: changes, ledger: ledger)
        // SKUs PostgreSQL no longer has are not compared.
        return snapshot.items.enumerated().map { index, item in
            let answer = Array(reply[(index * 6)..<(index * 6 + 6)])
            guard answer[0] == 1 else { return Verdict(sku: item.sku, judged: nil) }
            let (redisValue, expected, inCheckout, releases) = (answer[1], answer[2], answer[3], answer[4])
            let difference =
                redisValue == expected
                ? nil
                : StockDifference(
                    sku: item.sku, postgresAvailable: item.available, inCheckout: inCheckout, releasesPending: releases,
                    expectedRedis: expected, redis: redisValue < 0 ? nil : redisValue)
            return Verdict(sku: item.sku, judged: .init(difference: difference, countsDiffering: Int(answer[5])))
        }
    }

    struct Item {
        let sku: String
        let available: Int64
    }

    struct Snapshot {
        var items: [Item] = []
        var committedTokens: [String] = []
        var releases: [(order: String, sku: String, shopper: String, units: Int64)] = []
        var counts: [(shopper: String, sku: String, units: Int64)] = []
    }

    /// Everything PostgreSQL knows about the batch, from one consistent snapshot.
    private func snapshot(saleID: String, skus: [String], ledgerTokens: [String]) async throws -> Snapshot {
        try await postgres.withConnection { connection in
            try await connection.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var snapshot = Snapshot()
                snapshot.items = try await connection.query(
                    """
                    SELECT sku, available::bigint FROM inventory
                    WHERE sale_id = \(saleID) AND sku = ANY(\(skus)) ORDER BY sku
                    """, logger: logger
                ).decode((String, Int64).self).collectAll().map { Item(sku: $0.0, available: $0.1) }
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

    private func runScript(
        saleID: String, mode: Mode, snapshot: Snapshot, changes: [String: Int64], ledger: [String]
    ) async throws -> [Int64] {
        let keys = RedisKeys(saleID: saleID)
        let committed = Set(snapshot.committedTokens)
        let inCheckout = ledger.filter { !committed.contains($0) }
        var scriptKeys: [RedisArgument] = snapshot.items.map { .string(keys.stock($0.sku)) }
        scriptKeys += snapshot.items.map { .string(keys.changes($0.sku)) }
        scriptKeys += snapshot.counts.map { .string(keys.bought(shopper: $0.shopper, sku: $0.sku)) }
        var arguments: [RedisArgument] = [
            .string(mode.rawValue), .string(keys.prefix), .integer(Int64(snapshot.items.count)),
            .integer(Int64(inCheckout.count)), .integer(Int64(snapshot.releases.count)),
            .integer(Int64(snapshot.counts.count)),
        ]
        for item in snapshot.items {
            arguments += [.string(item.sku), .integer(item.available), .integer(changes[item.sku] ?? 0)]
        }
        arguments += inCheckout.map { .string($0) }
        for release in snapshot.releases {
            arguments += [.string(release.order), .string(release.sku), .string(release.shopper), .integer(release.units)]
        }
        for count in snapshot.counts { arguments += [.string(count.shopper), .string(count.sku), .integer(count.units)] }
        let reply = try await redis.run(ReconcileScript.judge, keys: scriptKeys, arguments: arguments)
        let values = (reply.array ?? []).compactMap(\.integer)
        guard values.count == snapshot.items.count * 6 else {
            throw RedisError.protocolError("reconcile script answered \(reply)")
        }
        return values
    }
}
