import NIOCore
import Synchronization

/// A place for one long-lived connection: it holds a live connection, or opens a new one on the
/// first use after the last one died (server restarted, network dropped). Callers arriving while
/// it connects wait for that one attempt. A failed attempt backs the slot off for a while that
/// the owner chooses, and callers during the back-off fail at once, with that attempt's error,
/// instead of piling up on a server that is down.
public final class ReconnectingSlot<Connection: Sendable>: Sendable {
    /// How the owner's kind of connection is made, checked and ended, and what its callers are told.
    public struct Behaviour: Sendable {
        /// Opens a connection; runs once per attempt.
        public var open: @Sendable () async throws -> Connection
        /// Whether a connection held can still carry commands.
        public var isLive: @Sendable (Connection) -> Bool
        public var close: @Sendable (Connection) async -> Void
        /// How long to fail at once after `failures` failed attempts in a row (zero: retry on next use).
        public var backoff: @Sendable (_ failures: Int) -> TimeAmount
        /// What a caller is thrown when an attempt fails with the given error.
        public var failure: @Sendable (any Error) -> any Error
        /// What a caller is thrown after ``ReconnectingSlot/close()``.
        public var closed: @Sendable () -> any Error

        public init(
            open: @escaping @Sendable () async throws -> Connection, isLive: @escaping @Sendable (Connection) -> Bool,
            close: @escaping @Sendable (Connection) async -> Void, backoff: @escaping @Sendable (Int) -> TimeAmount,
            failure: @escaping @Sendable (any Error) -> any Error, closed: @escaping @Sendable () -> any Error
        ) {
            self.open = open
            self.isLive = isLive
            self.close = close
            self.backoff = backoff
            self.failure = failure
            self.closed = closed
        }
    }

    private enum State {
        /// No connection; after a failed attempt, uses until `retryAt` fail with its error.
        case idle(failures: Int, retryAt: NIODeadline, lastError: (any Error)?)
        case connecting(Task<Connection, any Error>)
        case connected(Connection)
        case closed
    }

    private enum Next {
        case use(Connection)
        case wait(Task<Connection, any Error>)
        case fail(any Error)
    }

    private let behaviour: Behaviour
    private let state = Mutex(State.idle(failures: 0, retryAt: .uptimeNanoseconds(0), lastError: nil))

    public init(_ behaviour: Behaviour) {
        self.behaviour = behaviour
    }

    public func connection() async throws -> Connection {
        let next = state.withLock { state -> Next in
            switch state {
            case .connected(let connection) where behaviour.isLive(connection):
                return .use(connection)
            case .connecting(let task):
                return .wait(task)
            case .closed:
                return .fail(behaviour.closed())
            case .idle(_, let retryAt, let lastError?) where retryAt > .now():
                return .fail(lastError)
            case .idle(let failures, _, _):
                return .wait(startConnecting(&state, failures: failures))
            case .connected:
                return .wait(startConnecting(&state, failures: 0))
            }
        }
        switch next {
        case .use(let connection): return connection
        case .wait(let task): return try await task.value
        case .fail(let error): throw error
        }
    }

    /// The live connection, if there is one right now; never waits or connects.
    public var liveConnection: Connection? {
        state.withLock { state in
            if case .connected(let connection) = state, behaviour.isLive(connection) { return connection }
            return nil
        }
    }

    private func startConnecting(_ state: inout State, failures: Int) -> Task<Connection, any Error> {
        let task = Task { try await self.establish(previousFailures: failures) }
        state = .connecting(task)
        return task
    }

    private func establish(previousFailures: Int) async throws -> Connection {
        let connection: Connection
        do {
            connection = try await behaviour.open()
        } catch {
            let thrown = behaviour.failure(error)
            let failures = previousFailures + 1
            let backoff = behaviour.backoff(failures)
            state.withLock { state in
                if case .closed = state { return }
                state = .idle(failures: failures, retryAt: .now() + backoff, lastError: thrown)
            }
            throw thrown
        }
        let keep = state.withLock { state -> Bool in
            if case .closed = state { return false }
            state = .connected(connection)
            return true
        }
        guard keep else {
            await behaviour.close(connection)
            throw behaviour.closed()
        }
        return connection
    }

    /// Closes the connection held, or the one being opened; later uses fail with `closed()`.
    public func close() async {
        let previous = state.withLock { state in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let connection): await behaviour.close(connection)
        case .connecting(let task): _ = try? await task.value  // it closes what it opens after this
        case .idle, .closed: break
        }
    }
}

extension ReconnectingSlot where Connection: AnyObject {
    /// Stops handing out `connection` if it is the one held, so the next use opens a new one; the
    /// caller ends the old one (after what it already carries, if it likes). True when it was held.
    @discardableResult
    public func retire(_ connection: Connection) -> Bool {
        state.withLock { state in
            guard case .connected(let held) = state, held === connection else { return false }
            state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0), lastError: nil)
            return true
        }
    }
}
