import NIOCore
import Synchronization

/// One place in the pool: holds a live connection, or opens a new one when the last one died
/// (server restarted, network dropped). Failed attempts back off so a down server is not hammered,
/// and callers during the back-off fail at once instead of piling up.
final class RedisConnectionSlot: Sendable {
    private enum State {
        case idle(failures: Int, retryAt: NIODeadline, lastError: RedisError?)
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case closed
    }

    private enum Next {
        case use(RedisConnection)
        case wait(Task<RedisConnection, any Error>)
        case fail(RedisError)
    }

    static let maximumBackoff = TimeAmount.seconds(1)

    private let configuration: RedisConfiguration
    private let eventLoop: any EventLoop
    private let state = Mutex(State.idle(failures: 0, retryAt: .uptimeNanoseconds(0), lastError: nil))

    init(configuration: RedisConfiguration, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.eventLoop = eventLoop
    }

    func connection() async throws -> RedisConnection {
        let next = state.withLock { state -> Next in
            switch state {
            case .connected(let connection) where connection.isActive:
                return .use(connection)
            case .connecting(let task):
                return .wait(task)
            case .closed:
                return .fail(.clientClosed)
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
    var liveConnection: RedisConnection? {
        state.withLock { state in
            if case .connected(let connection) = state, connection.isActive { return connection }
            return nil
        }
    }

    private func startConnecting(_ state: inout State, failures: Int) -> Task<RedisConnection, any Error> {
        let task = Task { try await self.establish(previousFailures: failures) }
        state = .connecting(task)
        return task
    }

    private func establish(previousFailures: Int) async throws -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoop)
            let keep = state.withLock { state -> Bool in
                if case .closed = state { return false }
                state = .connected(connection)
                return true
            }
            guard keep else {
                await connection.close()
                throw RedisError.clientClosed
            }
            return connection
        } catch {
            let redisError = error as? RedisError ?? .connectFailed("\(error)")
            let failures = previousFailures + 1
            let backoff = min(TimeAmount.milliseconds(25 << min(failures, 6)), Self.maximumBackoff)
            state.withLock { state in
                if case .closed = state { return }
                state = .idle(failures: failures, retryAt: .now() + backoff, lastError: redisError)
            }
            throw redisError
        }
    }

    func close() async {
        let previous = state.withLock { state in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let connection): await connection.close()
        case .connecting(let task): (try? await task.value).map { _ in () }
        case .idle, .closed: break
        }
    }
}
