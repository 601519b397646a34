import ArgumentParser
import FlashSale
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// Committed orders per second on one hot SKU, PostgreSQL write path alone: the per-SKU group
/// committer against one optimistic transaction per order, same database, same run.
@main
struct OrderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsale-order-bench",
        abstract: "Measure the hot-SKU order write path (coalescing vs one update per order).")

    @Option(help: "PostgreSQL URL of a migrated database; the benchmark adds a sale of its own and removes it after.")
    var databaseURL = "postgres://flashsale@127.0.0.1:55432/flashsale"

    @Option(help: "Concurrent winners committing orders.")
    var concurrency = 200

    @Option(help: "Seconds per path.")
    var seconds = 10

    @Option(help: "PostgreSQL connections.")
    var connections = 20

    func run() async throws {
        let logger = Logger(label: "bench")
        let url = try DatabaseURL(databaseURL)
        let client = PostgresClient(
            configuration: url.clientConfiguration(maxConnections: connections), backgroundLogger: logger.poolLogger)
        let concurrency = self.concurrency
        let duration = Duration.seconds(seconds)
        try await client.whileRunning { postgres in
            try await Migrator(client: postgres, logger: logger).migrate(try Migration.embedded())
            let plain = try await Self.measure(
                "one optimistic update per order",
                committer: PlainOrderCommitter(writer: OrderBatchWriter(connections: postgres, logger: logger)),
                postgres: postgres, concurrency: concurrency, duration: duration)
            // As the service writes its batches: over connections kept for them, outside the pool.
            let orderWrites = OrderWriteConnections(
                database: url, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            let coalesced = try await Self.measure(
                "coalesced per SKU",
                committer: CoalescingOrderCommitter(writer: OrderBatchWriter(connections: orderWrites, logger: logger)),
                postgres: postgres, concurrency: concurrency, duration: duration)
            await orderWrites.close()
            print(String(format: "ratio coalesced / plain: %.1fx", coalesced / plain))
        }
    }

    static func measure(
        _ name: String, committer: any OrderCommitter, postgres: PostgresClient, concurrency: Int, duration: Duration
    ) async throws -> Double {
        let logger = Logger(label: "bench")
        let saleID = "bench-\(UInt32.random(in: 0..<UInt32.max))"
        try await postgres.query(
            "INSERT INTO sales (id, name, starts_at, ends_at) VALUES (\(saleID), 'bench', now(), now() + interval '1 day')",
            logger: logger)
        try await postgres.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            VALUES (\(saleID), 'hot', 'hot', 100, 2000000000, 2000000000, 1000000)
            """, logger: logger)
        let tally = Tally()
        let deadline = ContinuousClock.now + duration
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var sequence = 0
                    while ContinuousClock.now < deadline {
                        sequence += 1
                        let order = PendingOrder(
                            saleID: saleID, sku: "hot", shopperID: "w\(worker)", quantity: 1, amountCents: 100,
                            checkoutToken: "\(saleID)-\(worker)-\(sequence)", paymentWindowSeconds: 600)
                        do {
                            _ = try await committer.commit(order)
                            tally.committed.add(1, ordering: .relaxed)
                        } catch {
                            tally.failed.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(tally.committed.load(ordering: .relaxed)) / seconds
        let (available, orders) = try await postgres.query(
            """
            SELECT i.available::bigint, (SELECT count(*) FROM orders o WHERE o.sale_id = i.sale_id)::bigint
            FROM inventory i WHERE i.sale_id = \(saleID)
            """, logger: logger
        ).decode((Int64, Int64).self).collectAll()[0]
        // Audit: every committed order took exactly its unit from the stock of record.
        let consistent = available + orders == 2_000_000_000
        // The bench writes into the dev database: leave nothing of this sale behind.
        // Fresh statistics first: planned with none for this new sale, the jobs delete can become a
        // nested loop over hundreds of thousands of rows on each side, which runs for many minutes.
        try await postgres.query("ANALYZE orders", logger: logger)
        try await postgres.query(
            "DELETE FROM jobs WHERE payload->>'order_id' IN (SELECT id::text FROM orders WHERE sale_id = \(saleID))",
            logger: logger)
        try await postgres.query("DELETE FROM orders WHERE sale_id = \(saleID)", logger: logger)
        try await postgres.query("DELETE FROM sales WHERE id = \(saleID)", logger: logger)
        print(
            String(
                format: "%@ %8.0f orders/s (%d committed, %d failed, stock %@)",
                name.padding(toLength: 34, withPad: " ", startingAt: 0), rate,
                tally.committed.load(ordering: .relaxed), tally.failed.load(ordering: .relaxed),
                consistent ? "consistent" : "INCONSISTENT"))
        return rate
    }
}

/// Counts shared by the benchmark's workers.
final class Tally: Sendable {
    let committed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}
