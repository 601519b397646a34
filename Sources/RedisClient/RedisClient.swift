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
    public func send(_ arguments: [RedisArgument], timeout: Duration? = nil) async throws -> RedisReply {
        guard !isClosed.load(ordering: .relaxed) else { throw RedisError.clientClosed }
        let index = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue
        let connection = try await slots[index % slots.count].connection()
        return try await connection.send(arguments, timeout: timeout ?? configuration.commandTimeout)
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
