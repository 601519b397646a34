import FlashSale
import FlashSaleTestSupport
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
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
        let first = TimeAmount.milliseconds(50), maximum = TimeAmount.seconds(1)
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
}
