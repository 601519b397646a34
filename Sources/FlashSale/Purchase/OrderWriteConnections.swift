import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The group commit's PostgreSQL connections: one per event loop, kept outside the pool.
///
/// A batch is written from the event loop its flusher runs on, over that loop's connection, so the
/// statement's reply resumes the flusher without a thread hand-off. Leasing from the pool instead
/// cost a lease and a release per batch, and each release armed an idle timer on another thread.
/// A connection is opened on its loop's first write and reopened on the write after it closed.
/// One that hangs (a peer that vanished without closing, a lock held for long) is closed after
/// `statementTimeout`; the write it carried then ends without a reply, and the group commit asks
/// PostgreSQL what became of it before answering anyone.
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
    private let statementTimeout: TimeAmount

    public init(
        database: DatabaseURL, eventLoopGroup: any EventLoopGroup, statementTimeout: TimeAmount = .seconds(10),
        connectBackoff: (first: TimeAmount, maximum: TimeAmount) = (.milliseconds(50), .seconds(1)),
        logger: Logger
    ) {
        let configuration = database.connectionConfiguration(applicationName: Self.applicationName)
        lanes = eventLoopGroup.makeIterator().enumerated().map { index, eventLoop in
            Lane(
                configuration: configuration, eventLoop: eventLoop, id: index, backoff: connectBackoff, logger: logger)
        }
        self.statementTimeout = statementTimeout
    }

    /// The connection of the event loop this runs on; off an event loop, the next one in turn.
    public func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let here = MultiThreadedEventLoopGroup.currentEventLoop
        let lane =
            lanes.first { $0.eventLoop === here }
            ?? lanes[Int(UInt(bitPattern: nextLane.wrappingAdd(1, ordering: .relaxed).oldValue) % UInt(lanes.count))]
        let connection = try await lane.connection()
        // A timer on the loop rather than a task racing the body: this runs once per batch.
        let timeout = connection.eventLoop.scheduleTask(in: statementTimeout) {
            let _: EventLoopFuture<Void> = connection.close()
        }
        defer { timeout.cancel() }
        return try await body(connection)
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
        for lane in lanes { await lane.close() }
    }

    /// Why a write that asked for a connection after shutdown began got none (the underlying error
    /// of its ``PostgresConnectionUnavailable``).
    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "the order-write connections are closed" }
    }
}

/// One event loop's connection: opened on first use, reopened on the use after it closed.
private final class Lane: Sendable {
    let eventLoop: any EventLoop
    private let configuration: PostgresConnection.Configuration
    private let id: Int
    private let backoff: (first: TimeAmount, maximum: TimeAmount)
    private let logger: Logger
    private let state = Mutex<State>(.idle)

    private enum State {
        case idle
        /// The last attempt failed; uses until `retryAt` fail with its error.
        case backingOff(failures: Int, retryAt: NIODeadline, error: PostgresConnectionUnavailable)
        case connecting(Task<PostgresConnection, any Error>)
        case connected(PostgresConnection)
        case closed
    }

    private enum Next {
        case use(PostgresConnection)
        case wait(Task<PostgresConnection, any Error>)
        case fail(any Error)
    }

    init(
        configuration: PostgresConnection.Configuration, eventLoop: any EventLoop, id: Int,
        backoff: (first: TimeAmount, maximum: TimeAmount), logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.id = id
        self.backoff = backoff
        self.logger = logger
    }

    func connection() async throws -> PostgresConnection {
        let next = state.withLock { state -> Next in
            switch state {
            case .connected(let connection) where !connection.isClosed:
                return .use(connection)
            case .connecting(let task):
                return .wait(task)
            case .closed:
                return .fail(PostgresConnectionUnavailable(underlying: OrderWriteConnections.Closed()))
            case .backingOff(_, let retryAt, let error) where retryAt > .now():
                return .fail(error)
            case .backingOff(let failures, _, _):
                return .wait(startOpening(&state, failures: failures))
            case .idle, .connected:
                return .wait(startOpening(&state, failures: 0))
            }
        }
        switch next {
        case .use(let connection): return connection
        case .wait(let task): return try await task.value
        case .fail(let error): throw error
        }
    }

    private func startOpening(_ state: inout State, failures: Int) -> Task<PostgresConnection, any Error> {
        let task = Task { try await self.open(previousFailures: failures) }
        state = .connecting(task)
        return task
    }

    /// Runs once per connection attempt; a failed attempt backs the lane off.
    private func open(previousFailures: Int) async throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: eventLoop, configuration: configuration, id: id, logger: logger)
        } catch {
            let unavailable = PostgresConnectionUnavailable(underlying: error)
            let failures = previousFailures + 1
            let delay = OrderWriteConnections.backoff(after: failures, first: backoff.first, maximum: backoff.maximum)
            state.withLock { state in
                if case .connecting = state {
                    state = .backingOff(failures: failures, retryAt: .now() + delay, error: unavailable)
                }
            }
            throw unavailable
        }
        let kept = state.withLock { state -> Bool in
            guard case .connecting = state else { return false }
            state = .connected(connection)
            return true
        }
        guard kept else {
            try? await connection.close()
            throw PostgresConnectionUnavailable(underlying: OrderWriteConnections.Closed())
        }
        return connection
    }

    func close() async {
        let previous = state.withLock { state in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let connection): try? await connection.close()
        case .connecting(let task): _ = try? await task.value  // it closes what it opens after this
        case .idle, .backingOff, .closed: break
        }
    }
}
