import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection to Redis carrying many commands at once (pipelining).
///
/// Callers on any thread encode their command into a shared outbox; the first caller of a burst
/// schedules one flush on the event loop, which writes the whole burst with a single syscall.
/// This is the auto-pipelining of lettuce and StackExchange.Redis: no per-command lease, no per-command flush.
final class RedisConnection: Sendable {
    private struct Outbox: Sendable {
        var bytes: ByteBuffer
        var replies: [PendingReply] = []
        var flushScheduled = false
        var closed = false
    }

    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let outbox: Mutex<Outbox>

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>) {
        self.channel = channel
        self.handler = handler
        self.outbox = Mutex(Outbox(bytes: channel.allocator.buffer(capacity: 1024)))
        channel.closeFuture.whenComplete { [self] _ in markClosed() }
    }

    var isActive: Bool { channel.isActive }

    static func connect(
        configuration: RedisConfiguration, eventLoop: any EventLoop
    ) async throws -> RedisConnection {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(configuration.connectTimeout.timeAmount)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw RedisError.connectFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        // Redis sends nothing before the first command, so adding the handler after connecting loses no bytes.
        let handler = try await channel.eventLoop.submit {
            let handler = RedisChannelHandler()
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        let connection = RedisConnection(channel: channel, handler: handler)
        do {
            try await connection.handshake(configuration)
        } catch {
            try? await channel.close()
            throw error
        }
        return connection
    }

    private func handshake(_ configuration: RedisConfiguration) async throws {
        let timeout = configuration.connectTimeout
        if let password = configuration.password {
            if let username = configuration.username {
                _ = try await send(["AUTH", .string(username), .string(password)], timeout: timeout)
            } else {
                _ = try await send(["AUTH", .string(password)], timeout: timeout)
            }
        }
        if configuration.database != 0 {
            _ = try await send(["SELECT", .integer(Int64(configuration.database))], timeout: timeout)
        }
    }

    func send(_ arguments: [RedisArgument], timeout: Duration) async throws -> RedisReply {
        try await withUnsafeThrowingContinuation { continuation in
            enqueue(arguments, timeout: timeout, receiver: .caller(continuation))
        }
    }

    /// Queues the command at once and returns; the callback gets the reply on the event loop.
    func send(
        _ arguments: [RedisArgument], timeout: Duration,
        onReply: @escaping @Sendable (Result<RedisReply, any Error>) -> Void
    ) {
        enqueue(arguments, timeout: timeout, receiver: .callback(onReply))
    }

    private func enqueue(_ arguments: [RedisArgument], timeout: Duration, receiver: PendingReply.Receiver) {
        let deadline = NIODeadline.now() + timeout.timeAmount
        let needsFlush: Bool? = RedisCommandEncoder.withEncoded(arguments) { encoded in
            outbox.withLock { outbox -> Bool? in
                guard !outbox.closed else { return nil }
                outbox.bytes.writeBytes(encoded)
                outbox.replies.append(PendingReply(receiver: receiver, deadline: deadline))
                defer { outbox.flushScheduled = true }
                return !outbox.flushScheduled
            }
        }
        switch needsFlush {
        case nil:
            var reply = PendingReply(receiver: receiver, deadline: deadline)
            reply.complete(with: .failure(RedisError.connectionClosed))
        case true?: channel.eventLoop.execute { self.flush() }
        case false?: break
        }
    }

    /// Runs on the event loop: hands everything queued since the last flush to the handler in one write.
    private func flush() {
        let (bytes, replies) = outbox.withLock { outbox in
            let batch = (outbox.bytes, outbox.replies)
            outbox.bytes = channel.allocator.buffer(capacity: max(1024, batch.0.readableBytes))
            outbox.replies = []
            outbox.replies.reserveCapacity(batch.1.count)
            outbox.flushScheduled = false
            return batch
        }
        guard !replies.isEmpty else { return }
        handler.value.write(bytes, replies: replies)
    }

    private func markClosed() {
        let stranded = outbox.withLock { outbox in
            outbox.closed = true
            defer { outbox.replies = [] }
            return outbox.replies
        }
        for var reply in stranded { reply.complete(with: .failure(RedisError.connectionClosed)) }
    }

    func close() async {
        try? await channel.close()
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
