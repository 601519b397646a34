import ConnectionSlot
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The group commit's PostgreSQL connections: a few per event loop, kept outside the pool.
///
/// A batch is written from the event loop its flusher runs on, over one of that loop's connections,
/// so the statement's reply resumes the flusher without a thread hand-off. Leasing from the pool
/// instead cost a lease and a release per batch, and each release armed an idle timer on another
/// thread. A connection is opened on its first write and reopened on the write after it closed.
///
/// Statements on one connection run one after another, so a batch waiting for a held row lock
/// would hold up every other SKU's batch queued behind it. Each write therefore takes the loop's
/// connection with the fewest writes in flight, and among equals the one that last finished a
/// write: a connection stuck behind a lock finishes nothing, so the others' batches go around it.
/// While nothing is stuck, that keeps writes on one connection (the others stay idle or unopened).
///
/// PostgreSQL itself refuses a write that waits more than `lockTimeout` for a lock (an operator's
/// transaction holding the inventory row, say: `lock_timeout`) or runs longer than
/// `statementTimeout` (`statement_timeout`). Such a refusal means nothing was written: its orders
/// are answered 503 with their units given back, and the writes queued behind it on this
/// connection (other SKUs' batches) go on. A write still unanswered `closeAfter` after it was
/// queued (a peer that vanished without closing, or a queue of writes each waiting out its lock)
/// closes the connection; the writes it carried then end without a reply, and the group commit
/// asks PostgreSQL what became of them before answering anyone.
///
/// A connection that cannot be opened throws ``PostgresConnectionUnavailable``: nothing was sent.
/// From the second failed attempt in a row the lane backs off (from `connectBackoff.first`,
/// doubling up to `connectBackoff.maximum`), and uses meanwhile fail at once: while PostgreSQL is
/// down, each batch is answered 503 straight away instead of each waiting out a connect timeout.
public final class OrderWriteConnections: PostgresConnectionSource, Service {
    /// Shown in `pg_stat_activity.application_name`.
    public static let applicationName = "flashsale-order-writes"

    private let lanes: [Lane]
    private let nextLane = Atomic<Int>(0)
    private let closeAfter: TimeAmount

    public static let defaultConnectionsPerLoop = 2

    public init(
        database: DatabaseURL, eventLoopGroup: any EventLoopGroup, lockTimeout: TimeAmount = .seconds(2),
        statementTimeout: TimeAmount = .seconds(5), closeAfter: TimeAmount = .seconds(10),
        connectionsPerLoop: Int = OrderWriteConnections.defaultConnectionsPerLoop,
        connectBackoff: (first: TimeAmount, maximum: TimeAmount) = (.milliseconds(50), .seconds(1)),
        logger: Logger
    ) {
        var configuration = database.connectionConfiguration(applicationName: Self.applicationName)
        configuration.options.additionalStartupParameters += [
            ("lock_timeout", Self.milliseconds(lockTimeout)), ("statement_timeout", Self.milliseconds(statementTimeout)),
        ]
        lanes = eventLoopGroup.makeIterator().enumerated().map { index, eventLoop in
            Lane(
                configuration: configuration, eventLoop: eventLoop, firstID: index * connectionsPerLoop,
                connections: max(1, connectionsPerLoop), backoff: connectBackoff, logger: logger)
        }
        self.closeAfter = closeAfter
    }

    /// A duration as PostgreSQL settings take it; at least 1 ms, since 0 would turn the limit off.
    private static func milliseconds(_ amount: TimeAmount) -> String {
        "\(max(1, amount.nanoseconds / 1_000_000))ms"
    }

    /// The connection of the event loop this runs on; off an event loop, the next one in turn.
    public func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let here = MultiThreadedEventLoopGroup.currentEventLoop
        let lane =
            lanes.first { $0.eventLoop === here }
            ?? lanes[Int(UInt(bitPattern: nextLane.wrappingAdd(1, ordering: .relaxed).oldValue) % UInt(lanes.count))]
        let (index, slot) = lane.take()
        var finished = false
        defer { lane.done(index, finished: finished) }
        let connection = try await slot.connection()
        // A timer on the loop rather than a task racing the body: this runs once per batch.
        let timeout = connection.eventLoop.scheduleTask(in: closeAfter) {
            let _: EventLoopFuture<Void> = connection.close()
        }
        defer { timeout.cancel() }
        do {
            let result = try await body(connection)
            finished = true
            return result
        } catch let error where OrderBatchWriter.waitedTooLong(error) {
            // The wait may have been the first write's prepare, and postgres-nio then keeps the
            // error as that statement's and never prepares it again on this connection. A new
            // connection for the next write; this one closes after the writes already queued on it.
            if slot.retire(connection) { Task { try? await connection.closeGracefully() } }
            throw error
        } catch {
            // PostgreSQL answered (a refusal is still an answer): the connection is not stuck.
            finished = !(error is PostgresConnectionUnavailable) && OrderBatchWriter.wroteNothing(error)
            throw error
        }
    }

    /// A lane's wait after `failures` failed connection attempts in a row. None after the first (a
    /// restart's first refusal or a moment of too many clients should not fail a loop's batches for
    /// a while); then `first`, doubling up to `maximum`, less up to a fifth at random, so that the
    /// lanes do not all retry at once.
    public static func backoff(after failures: Int, first: TimeAmount, maximum: TimeAmount) -> TimeAmount {
        guard failures > 1 else { return .zero }
        let doublings = min(failures - 2, 62)
        let (scaled, overflow) = first.nanoseconds.multipliedReportingOverflow(by: Int64(1) << doublings)
        let capped = overflow ? maximum.nanoseconds : min(scaled, maximum.nanoseconds)
        return .nanoseconds(capped - Int64.random(in: 0...(capped / 5)))
    }

    /// Keeps the connections until graceful shutdown begins, then closes them.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    public func close() async {
        for lane in lanes {
            for slot in lane.slots { await slot.close() }
        }
    }

    /// Why a write that asked for a connection after shutdown began got none (the underlying error
    /// of its ``PostgresConnectionUnavailable``).
    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "the order-write connections are closed" }
    }
}

/// One event loop's connections, each opened on first use and reopened on the use after it closed,
/// with how busy each is.
private final class Lane: Sendable {
    private struct Load: Sendable {
        var inFlight: Int = 0
        /// Bumped each time a write on the connection finishes: the most recent is the least stuck.
        var lastFinished: UInt64 = 0
    }

    let eventLoop: any EventLoop
    let slots: [ReconnectingSlot<PostgresConnection>]
    private let loads: Mutex<(loads: [Load], finishes: UInt64)>

    init(
        configuration: PostgresConnection.Configuration, eventLoop: any EventLoop, firstID: Int, connections: Int,
        backoff: (first: TimeAmount, maximum: TimeAmount), logger: Logger
    ) {
        self.eventLoop = eventLoop
        slots = (0..<connections).map { offset in
            ReconnectingSlot(
                .init(
                    open: {
                        try await PostgresConnection.connect(
                            on: eventLoop, configuration: configuration, id: firstID + offset, logger: logger)
                    },
                    isLive: { !$0.isClosed },
                    close: { try? await $0.close() },
                    backoff: { OrderWriteConnections.backoff(after: $0, first: backoff.first, maximum: backoff.maximum) },
                    failure: { PostgresConnectionUnavailable(underlying: $0) },
                    closed: { PostgresConnectionUnavailable(underlying: OrderWriteConnections.Closed()) }))
        }
        loads = Mutex((Array(repeating: Load(), count: connections), 0))
    }

    /// The connection with the fewest writes in flight; among equals, the one that finished a write last.
    func take() -> (Int, ReconnectingSlot<PostgresConnection>) {
        let index = loads.withLock { state in
            var best = 0
            for candidate in state.loads.indices.dropFirst() {
                let (a, b) = (state.loads[candidate], state.loads[best])
                if a.inFlight < b.inFlight || (a.inFlight == b.inFlight && a.lastFinished > b.lastFinished) {
                    best = candidate
                }
            }
            state.loads[best].inFlight += 1
            return best
        }
        return (index, slots[index])
    }

    /// A write on connection `index` ended; `finished` when PostgreSQL answered it.
    func done(_ index: Int, finished: Bool) {
        loads.withLock { state in
            state.loads[index].inFlight -= 1
            if finished {
                state.finishes += 1
                state.loads[index].lastFinished = state.finishes
            }
        }
    }
}
