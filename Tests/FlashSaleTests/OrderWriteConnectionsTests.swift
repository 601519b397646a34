import FlashSale
import FlashSaleTestSupport
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import Testing

@Suite("OrderWriteConnections: the group commit's own PostgreSQL connections")
struct OrderWriteConnectionsTests {
    static let logger = TestDatabase.logger

    /// Backends of the order-write connections, as PostgreSQL sees them.
    static func backends(_ postgres: PostgresClient, database: String) async throws -> [Int32] {
        try await postgres.query(
            """
            SELECT pid FROM pg_stat_activity
            WHERE application_name = \(OrderWriteConnections.applicationName) AND datname = \(database)
            """, logger: logger
        ).decode(Int32.self).collectAll()
    }

    @Test func eachLoopWritesOverItsOwnConnection() async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let connections = OrderWriteConnections(database: url, eventLoopGroup: group, logger: Self.logger)
            var used: [ObjectIdentifier] = []
            for loop in group.makeIterator() {
                for _ in 0..<3 {
                    let (sameLoop, id) = try await withTaskExecutorPreference(EventLoopExecutor.of(loop)) {
                        try await connections.using { connection in
                            (connection.eventLoop === loop, ObjectIdentifier(connection))
                        }
                    }
                    #expect(sameLoop)
                    used.append(id)
                }
            }
            // Three uses per loop, one connection per loop, kept between uses.
            #expect(Set(used).count == 2)
            #expect(try await Self.backends(postgres, database: url.database).count == 2)
            await connections.close()
            let afterClose = await #expect(throws: PostgresConnectionUnavailable.self) {
                try await connections.using { _ in () }
            }
            #expect(afterClose?.underlying is OrderWriteConnections.Closed)
            try await group.shutdownGracefully()
        }
    }

    @Test func aConnectionThatDiedIsReplacedOnNextUse() async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connections = OrderWriteConnections(database: url, eventLoopGroup: group, logger: Self.logger)
            let before = try await connections.using { connection in
                try await connection.query("SELECT pg_backend_pid()", logger: Self.logger).decode(Int32.self).collectAll()
            }
            // The server ends the backend, as a restart or an administrator would (waiting for it to exit).
            try await postgres.query("SELECT pg_terminate_backend(\(before[0]), 5000)", logger: Self.logger)
            var after: [Int32] = []
            for _ in 0..<50 where after.isEmpty || after == before {
                do {
                    after = try await connections.using { connection in
                        try await connection.query("SELECT pg_backend_pid()", logger: Self.logger)
                            .decode(Int32.self).collectAll()
                    }
                } catch {
                    // The use that meets the dead connection fails; the next one reconnects.
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(after.count == 1)
            #expect(after != before)
            await connections.close()
            try await group.shutdownGracefully()
        }
    }

    /// A lane that cannot open its connection says so with ``PostgresConnectionUnavailable`` (nothing
    /// was sent). A first failure is tried again on the next use; after a second one, uses fail at
    /// once without another attempt until the back-off ends.
    @Test func aLaneThatCannotConnectFailsAtOnceUntilItsBackoffEnds() async throws {
        let server = try await ClosingServer.start()
        let url = try DatabaseURL("postgres://flashsale@127.0.0.1:\(server.port)/nowhere")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = OrderWriteConnections(
            database: url, eventLoopGroup: group, connectBackoff: (.seconds(600), .seconds(600)), logger: Self.logger)
        for _ in 0..<4 {
            await #expect(throws: PostgresConnectionUnavailable.self) {
                try await connections.using { _ in () }
            }
        }
        #expect(server.acceptedConnections == 2)
        await connections.close()
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func theBackoffStartsAtTheSecondFailureDoublesAndIsCapped() {
        let first = TimeAmount.milliseconds(50)
        let maximum = TimeAmount.seconds(1)
        func wait(_ failures: Int) -> Int64 {
            OrderWriteConnections.backoff(after: failures, first: first, maximum: maximum).nanoseconds
        }
        #expect(wait(1) == 0)
        for (failures, full) in [(2, first), (3, first * 2), (4, first * 4), (7, maximum), (500, maximum)] {
            let waited = wait(failures)
            #expect(waited <= full.nanoseconds && waited >= full.nanoseconds * 4 / 5, "\(failures): \(waited)")
        }
        // A first wait so long that doubling it overflows is still capped, not a trap.
        #expect(OrderWriteConnections.backoff(after: 100, first: .hours(1_000_000), maximum: maximum) <= maximum)
    }

    @Test func aLaneTriesAgainOnceItsBackoffHasPassed() async throws {
        let server = try await ClosingServer.start()
        let url = try DatabaseURL("postgres://flashsale@127.0.0.1:\(server.port)/nowhere")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = OrderWriteConnections(
            database: url, eventLoopGroup: group, connectBackoff: (.milliseconds(5), .milliseconds(20)),
            logger: Self.logger)
        try await eventually {
            await #expect(throws: PostgresConnectionUnavailable.self) {
                try await connections.using { _ in () }
            }
            guard server.acceptedConnections >= 3 else { throw CancellationError() }
        }
        await connections.close()
        try await group.shutdownGracefully()
        try await server.stop()
    }

    /// A write that hangs (here: on a row lock another transaction keeps, with `closeAfter` shorter
    /// than the lock timeout) is cut off, and the group commit, unable to learn its outcome while the lock is held,
    /// answers that it does not know, instead of waiting as long as the lock lasts.
    @Test func aHangingWriteIsCutOffAndItsOutcomeIsNotGuessed() async throws {
        let sale = TestSale(id: "hang", sku: "a", stock: 10)
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: Self.logger).migrate(try TestDatabase.migrations)
            try await sale.createInPostgres(postgres)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connections = OrderWriteConnections(
                database: url, eventLoopGroup: group, closeAfter: .milliseconds(300), logger: Self.logger)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(connections: connections, logger: Self.logger))
            let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
            let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
            async let holder: Void = postgres.withTransaction(logger: Self.logger) { connection in
                try await connection.query(
                    "SELECT 1 FROM inventory WHERE sale_id = 'hang' FOR UPDATE", logger: Self.logger)
                lockedSignal.yield()
                // Held until the write has been answered, or for 10 s at most if it never is.
                _ = await withTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { for await _ in release { return } }
                    tasks.addTask { try? await Task.sleep(for: .seconds(10)) }
                    await tasks.next()
                    tasks.cancelAll()
                }
            }
            for await _ in locked { break }
            await #expect(throws: OrderOutcomeUnknown.self) {
                _ = try await committer.commit(sale.pendingOrders(0..<1, tokenPrefix: "hang")[0])
            }
            releaseSignal.yield()
            try await holder
            await connections.close()
            try await group.shutdownGracefully()
        }
    }

    /// One SKU's batch waiting for a held row lock must not hold up other SKUs' batches written from
    /// the same event loop: they go over the loop's other connection and commit while it waits.
    @Test(.timeLimit(.minutes(1)))
    func aBatchStuckBehindARowLockDoesNotDelayOtherSKUs() async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: Self.logger).migrate(try TestDatabase.migrations)
            let stuck = TestSale(id: "hol", sku: "stuck", stock: 10)
            try await stuck.createInPostgres(postgres)
            try await postgres.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                VALUES ('hol', 'free', 'Free item', 100, 10, 10, 5)
                """, logger: Self.logger)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connections = OrderWriteConnections(
                database: url, eventLoopGroup: group, lockTimeout: .seconds(20), statementTimeout: .seconds(25),
                closeAfter: .seconds(30), logger: Self.logger)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(connections: connections, logger: Self.logger))
            let order: @Sendable (String, String) -> PendingOrder = { sku, token in
                PendingOrder(
                    saleID: "hol", sku: sku, shopperID: "s-\(token)", quantity: 1, amountCents: 100,
                    checkoutToken: token, paymentWindowSeconds: 600)
            }
            // Both SKUs written once, so each has its version remembered and the stuck write goes
            // straight to its UPDATE (and waits there) instead of a plain read first.
            _ = try await committer.commit(order("stuck", "warm-1"))
            _ = try await committer.commit(order("free", "warm-2"))

            let stuckAnswered = Flag()
            try await postgres.withTransaction(logger: Self.logger) { holder in
                try await holder.query(
                    "SELECT 1 FROM inventory WHERE sale_id = 'hol' AND sku = 'stuck' FOR UPDATE", logger: Self.logger)
                let waiting = Task {
                    defer { stuckAnswered.value.withLock { $0 = true } }
                    return try await committer.commit(order("stuck", "behind-the-lock"))
                }
                try await eventually {
                    let waits = try await postgres.query(
                        """
                        SELECT count(*)::bigint FROM pg_stat_activity
                        WHERE application_name = \(OrderWriteConnections.applicationName) AND wait_event_type = 'Lock'
                        """, logger: Self.logger
                    ).decode(Int64.self).collectAll()
                    guard waits == [1] else { throw TestWaitError.notYet }
                }
                let free = try await committer.commit(order("free", "beside-the-lock"))
                #expect(free.sku == "free")
                #expect(!stuckAnswered.value.withLock { $0 }, "the free SKU's order waited for the stuck one")
                _ = waiting
            }
            // The lock is gone: the stuck order commits too.
            try await eventually { guard stuckAnswered.value.withLock({ $0 }) else { throw TestWaitError.notYet } }
            let orders = try await postgres.query(
                "SELECT count(*)::bigint FROM orders WHERE sale_id = 'hol'", logger: Self.logger
            ).decode(Int64.self).collectAll()
            #expect(orders == [4])
            await connections.close()
            try await group.shutdownGracefully()
        }
    }
}

final class Flag: Sendable {
    let value = Mutex(false)
}

enum TestWaitError: Error {
    case notYet
}
