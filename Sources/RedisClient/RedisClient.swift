import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An async Redis client: a few long-lived connections, each carrying many commands at once.
///
/// Commands are spread round-robin over the connections; a dead connection is replaced on next use,
/// so the client recovers by itself when Redis restarts. Commands are never retried after a
/// connection loss: whether a lost command ran is unknown, and purchase scripts are not idempotent.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let slots: [RedisConnectionSlot]
    private let nextSlot = Atomic<Int>(0)
    private let isClosed = Atomic<Bool>(false)
    /// SHA1s of the scripts this client has seen its server load; forgotten at any NOSCRIPT, since
    /// the server then lost them all (restart, SCRIPT FLUSH).
    private let loadedScripts = Mutex<Set<String>>([])

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.slots = (0..<max(1, configuration.connectionCount)).map { _ in
            RedisConnectionSlot(configuration: configuration, eventLoop: eventLoopGroup.next())
        }
    }

    /// Sends one command and waits for its reply. An error reply throws ``RedisError/server(_:)``.
    /// Commands with the same `affinity` travel on one connection, so Redis runs them in the order
    /// they were sent; without one, commands are spread round-robin.
    public func send(_ arguments: [RedisArgument], affinity: Int? = nil, timeout: Duration? = nil) async throws
        -> RedisReply
    {
        guard !isClosed.load(ordering: .relaxed) else { throw RedisError.clientClosed }
        let connection = try await slot(affinity).connection()
        return try await connection.send(arguments, timeout: timeout ?? configuration.commandTimeout)
    }

    /// Sends one command without waiting for it: when this returns, the command is queued on its
    /// connection ahead of any command sent later with the same `affinity`. `onReply` runs on an
    /// event loop and must not block. While the connection is being (re)established, the command
    /// is sent from a task once it is up, no longer ordered.
    public func send(
        _ arguments: [RedisArgument], affinity: Int, timeout: Duration? = nil,
        onReply: @escaping @Sendable (Result<RedisReply, any Error>) -> Void
    ) {
        guard !isClosed.load(ordering: .relaxed) else { return onReply(.failure(RedisError.clientClosed)) }
        if let connection = slot(affinity).liveConnection {
            connection.send(arguments, timeout: timeout ?? configuration.commandTimeout, onReply: onReply)
            return
        }
        reply(to: onReply) { try await self.send(arguments, affinity: affinity, timeout: timeout) }
    }

    /// The fallback of the sends that do not wait: runs `command` in a task, its outcome to `onReply`.
    func reply(
        to onReply: @escaping @Sendable (Result<RedisReply, any Error>) -> Void,
        from command: @escaping @Sendable () async throws -> RedisReply
    ) {
        Task {
            do {
                onReply(.success(try await command()))
            } catch {
                onReply(.failure(error))
            }
        }
    }

    func isLoaded(_ sha: String) -> Bool { loadedScripts.withLock { $0.contains(sha) } }

    func markLoaded(_ sha: String) { loadedScripts.withLock { _ = $0.insert(sha) } }

    func forgetLoadedScripts() { loadedScripts.withLock { $0.removeAll() } }

    private func slot(_ affinity: Int?) -> RedisConnectionSlot {
        let index = affinity ?? nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue
        return slots[Int(UInt(bitPattern: index) % UInt(slots.count))]
    }

    public func send(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await send(arguments)
    }

    /// Closes every connection; commands in flight fail with ``RedisError/connectionClosed``.
    public func close() async {
        guard !isClosed.exchange(true, ordering: .relaxed) else { return }
        for slot in slots { await slot.close() }
    }
}

extension RedisClient: Service {
    /// Keeps the client open until graceful shutdown begins, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
