import NIOCore
import NIOPosix

/// Bounds how long a caller waits for an operation. The pool of postgres-nio keeps a request waiting
/// for a connection for up to a minute when the server is down; a shopper should hear "try again"
/// within seconds. On expiry the operation is cancelled (a pending connection lease gives up at once).
///
/// Not for writes whose outcome must be known: cancelling a commit in flight leaves it undecided.
public enum Deadline {
    public struct Exceeded: Error, Equatable {
        public let timeout: Duration
    }

    @discardableResult
    public static func run<Value: Sendable>(
        _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await expiry(after: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw Exceeded(timeout: timeout) }
            return value
        }
    }

    /// Returns after `timeout`; throws at once when cancelled. An event loop's timer rather than
    /// `Task.sleep`: a cancelled `Task.sleep` keeps its memory until its deadline would have come,
    /// so a deadline per request held a few hundred bytes per request for seconds. A cancelled
    /// scheduled task is gone at once.
    static func expiry(after timeout: Duration) async throws {
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .init(timeout)) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch EventLoopError.cancelled {
            throw CancellationError()
        }
    }
}
