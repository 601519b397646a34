import FlashSale
import FlashSaleTestSupport
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import Testing

@Suite("CoalescingOrderCommitter: group commit per SKU")
struct CoalescingOrderCommitterTests {
    /// The committer keeps each SKU's version between flushers; when another writer (a cancellation,
    /// another instance) moved the row in between, the remembered version is stale and must cost a
    /// re-read, never a lost or doubled order.
    @Test func aVersionMovedByAnotherWriterBetweenFlushersIsReRead() async throws {
        let sale = TestSale(id: "c", sku: "a", stock: 100)
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await sale.createInPostgres(postgres)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(connections: postgres, logger: TestDatabase.logger))

            let orders = sale.pendingOrders(0..<22, tokenPrefix: "c")

            _ = try await committer.commit(orders[0])
            // Another writer takes 2 units and moves the version, as another instance's batch does.
            try await postgres.query(
                "UPDATE inventory SET available = available - 2, version = version + 1 WHERE sale_id = 'c'",
                logger: TestDatabase.logger)
            _ = try await committer.commit(orders[1])
            // Concurrent orders after that: batches that start from the version the last one left.
            try await withThrowingTaskGroup(of: Order.self) { group in
                for order in orders[2...] { group.addTask { try await committer.commit(order) } }
                for try await order in group { #expect(order.status == .reserved) }
            }

            let row = try await postgres.query(
                "SELECT available::bigint, version, (SELECT count(*) FROM orders WHERE sale_id = 'c') FROM inventory",
                logger: TestDatabase.logger
            ).decode((Int64, Int64, Int64).self).collectAll()
            let available: Int64 = 100 - 2 - 22
            #expect(row.first?.0 == available)
            #expect(row.first?.2 == 22)
            #expect((row.first?.1 ?? 0) >= 3)
        }
    }

    /// A committer over `faults` of a fresh database holding `sale`.
    static func withCommitter(
        on sale: TestSale, faults: [FlakyConnections.Fault],
        _ body: @Sendable (CoalescingOrderCommitter, PostgresClient) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await sale.createInPostgres(postgres)
            let connections = FlakyConnections(pool: postgres, faults: faults)
            try await body(
                CoalescingOrderCommitter(writer: OrderBatchWriter(connections: connections, logger: TestDatabase.logger)),
                postgres)
        }
    }

    /// Stock, version and order count of the test sale's item.
    static func row(_ postgres: PostgresClient, sale: String) async throws -> (available: Int64, version: Int64, orders: Int64) {
        try await postgres.query(
            """
            SELECT available::bigint, version, (SELECT count(*) FROM orders WHERE sale_id = \(sale))
            FROM inventory WHERE sale_id = \(sale)
            """, logger: TestDatabase.logger
        ).decode((Int64, Int64, Int64).self).collectAll()[0]
    }

    /// A batch that committed but whose reply never came back must be answered as committed: a 503
    /// would give its units back in Redis while PostgreSQL keeps the orders.
    @Test func aBatchWhoseReplyWasLostIsAnsweredFromWhatPostgresHolds() async throws {
        let sale = TestSale(id: "lost", sku: "a", stock: 100)
        try await Self.withCommitter(on: sale, faults: [.replyLost]) { committer, postgres in
            let orders = sale.pendingOrders(0..<10, tokenPrefix: "lost")
            let committed = try await withThrowingTaskGroup(of: Order.self) { group in
                for order in orders { group.addTask { try await committer.commit(order) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(committed.map(\.id)) == Set(orders.map(\.id)))
            let row = try await Self.row(postgres, sale: sale.id)
            #expect(row.orders == 10)
            #expect(row.available == 90)
        }
    }

    /// A write lost before it reached PostgreSQL is a plain failure (the caller gives the units back),
    /// and the fence leaves the row's version moved, so that a copy of the statement arriving late
    /// could not apply.
    @Test func aWriteThatNeverArrivedFailsAndTheRowIsFenced() async throws {
        let sale = TestSale(id: "never", sku: "a", stock: 100)
        try await Self.withCommitter(on: sale, faults: [.neverSent]) { committer, postgres in
            let order = sale.pendingOrders(0..<1, tokenPrefix: "never")[0]
            await #expect(throws: FlakyConnections.ConnectionLost.self) { _ = try await committer.commit(order) }
            let row = try await Self.row(postgres, sale: sale.id)
            #expect(row.orders == 0)
            #expect(row.available == 100)
            #expect(row.version == 1)
            // The next order is written as usual, from the fenced version.
            _ = try await committer.commit(sale.pendingOrders(1..<2, tokenPrefix: "never")[0])
            #expect(try await Self.row(postgres, sale: sale.id).orders == 1)
        }
    }

    /// When PostgreSQL cannot even be asked, the committer does not guess either way.
    @Test func whenPostgresCannotBeAskedTheOutcomeIsUnknown() async throws {
        let sale = TestSale(id: "unknown", sku: "a", stock: 100)
        try await Self.withCommitter(on: sale, faults: [.replyLost, .neverSent]) { committer, postgres in
            await #expect(throws: OrderOutcomeUnknown.self) {
                _ = try await committer.commit(sale.pendingOrders(0..<1, tokenPrefix: "unknown")[0])
            }
            // It had committed: exactly what an answer of 503 and a give-back would have contradicted.
            let row = try await Self.row(postgres, sale: sale.id)
            #expect(row.orders == 1)
        }
    }

    /// The flusher runs where its first order came from, so that the write's reply resumes it on
    /// the thread that reads it (``OrderWriteConnections`` has a connection on that loop).
    @Test func theFlusherRunsOnTheEventLoopOfItsFirstOrder() async throws {
        let sale = TestSale(id: "loop", sku: "a", stock: 100)
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await sale.createInPostgres(postgres)
            let recorder = LoopRecorder(pool: postgres)
            let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(connections: recorder, logger: TestDatabase.logger))
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            var expected: [ObjectIdentifier] = []
            for (index, loop) in group.makeIterator().enumerated() {
                let order = sale.pendingOrders(index..<index + 1, tokenPrefix: "loop")[0]
                _ = try await withTaskExecutorPreference(EventLoopExecutor.of(loop)) {
                    try await committer.commit(order)
                }
                expected.append(ObjectIdentifier(loop))
            }
            #expect(recorder.loops == expected)
            try await group.shutdownGracefully()
        }
    }
}

/// The pool, noting the event loop each use runs on.
final class LoopRecorder: PostgresConnectionSource {
    private let pool: PostgresClient
    private let seen = Mutex<[ObjectIdentifier?]>([])

    init(pool: PostgresClient) {
        self.pool = pool
    }

    var loops: [ObjectIdentifier?] { seen.withLock { $0 } }

    func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop.map(ObjectIdentifier.init)
        seen.withLock { $0.append(loop) }
        return try await pool.using(body)
    }
}
