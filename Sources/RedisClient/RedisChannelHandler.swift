import NIOCore

/// A reply someone is waiting for: an awaiting caller, or a callback of a command sent without
/// waiting. Its receiver is nil once the caller gave up (timeout): the slot stays in the queue so
/// that later replies still pair with the right callers.
struct PendingReply: Sendable {
    enum Receiver: Sendable {
        case caller(UnsafeContinuation<RedisReply, any Error>)
        case callback(@Sendable (Result<RedisReply, any Error>) -> Void)
    }

    var receiver: Receiver?
    let deadline: NIODeadline

    mutating func complete(with result: Result<RedisReply, any Error>) {
        switch receiver {
        case .caller(let continuation): continuation.resume(with: result)
        case .callback(let callback): callback(result)
        case nil: break
        }
        receiver = nil
    }
}

/// Owns the FIFO of replies in flight on one connection and feeds received bytes to hiredis.
/// Redis answers in request order, so the n-th reply belongs to the n-th pending entry.
/// Lives on the channel's event loop only.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How often timed-out commands are looked for while replies are outstanding.
    static let timeoutCheckInterval = TimeAmount.milliseconds(25)

    private let decoder = RedisReplyDecoder()
    private var pending = CircularBuffer<PendingReply>(initialCapacity: 64)
    private var context: ChannelHandlerContext?
    private var closed = false
    private var timeoutCheckScheduled = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        closed = !context.channel.isActive
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        self.context = nil
    }

    /// Writes a batch of already-encoded commands and queues their replies, in the same order.
    func write(_ bytes: ByteBuffer, replies: [PendingReply]) {
        guard let context, !closed else {
            for var reply in replies { reply.complete(with: .failure(RedisError.connectionClosed)) }
            return
        }
        pending.append(contentsOf: replies)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        scheduleTimeoutCheck()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try decoder.feed(unwrapInboundIn(data))
            while let reply = try decoder.next() {
                try deliver(reply)
            }
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError.connectionClosed)
        context.close(promise: nil)
    }

    private func deliver(_ reply: RedisReply) throws(RedisError) {
        guard var entry = pending.popFirst() else {
            throw RedisError.protocolError("reply received with no command waiting for it")
        }
        if case .error(let message) = reply {
            entry.complete(with: .failure(RedisError.server(message)))
        } else {
            entry.complete(with: .success(reply))
        }
    }

    private func failAll(_ error: any Error) {
        closed = true
        while var entry = pending.popFirst() {
            entry.complete(with: .failure(error))
        }
    }

    private func scheduleTimeoutCheck() {
        guard !timeoutCheckScheduled, !pending.isEmpty, let context else { return }
        timeoutCheckScheduled = true
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.timeoutCheckInterval) {
            self.timeoutCheckScheduled = false
            self.expireTimedOut()
            self.scheduleTimeoutCheck()
        }
    }

    private func expireTimedOut() {
        let now = NIODeadline.now()
        for index in pending.indices where pending[index].deadline <= now {
            pending[index].complete(with: .failure(RedisError.timeout))
        }
    }
}
