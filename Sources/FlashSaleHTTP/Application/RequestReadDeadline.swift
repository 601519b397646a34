import Metrics
import NIOCore
import NIOHTTP1

/// A request's head and body must arrive within `timeout` of its first byte, or the connection is
/// closed (without an answer, as nginx does for a client too slow to send its header). This is
/// what stops a slowloris: Hummingbird's idle timeout counts from the last complete HTTP part, and
/// a head that arrives one byte a second never completes one, while its bytes keep the socket busy.
///
/// Two handlers share one deadline: ``RequestStartHandler`` sees raw bytes (a request begins with
/// its first byte, which no HTTP part announces) and ``RequestEndHandler`` sees the decoded parts
/// (it ends with `.end`). Time between requests belongs to the idle timeout, and time spent
/// answering to neither. Everything here runs on the connection's event loop.
final class RequestReadDeadline {
    private let timeout: TimeAmount
    private let expirations: Counter
    private var timer: Scheduled<Void>?

    init(timeout: Duration, expirations: Counter) {
        self.timeout = TimeAmount(timeout)
        self.expirations = expirations
    }

    /// Bytes came in: if no request was being read, one starts now.
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.timer = nil
            self.expirations.increment()
            context.close(promise: nil)
        }
    }

    /// The request was read to its end: the deadline is met.
    fileprivate func requestRead() {
        timer?.cancel()
        timer = nil
    }

    /// Adds the two handlers to an HTTP/1 pipeline Hummingbird has set up.
    static func install(timeout: Duration, expirations: Counter, on pipeline: ChannelPipeline.SynchronousOperations) throws {
        let deadline = RequestReadDeadline(timeout: timeout, expirations: expirations)
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(RequestStartHandler(deadline), position: .first)
        try pipeline.addHandler(RequestEndHandler(deadline), position: .after(decoder))
    }
}

/// Starts the deadline at a request's first byte.
final class RequestStartHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: RequestReadDeadline

    fileprivate init(_ deadline: RequestReadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if Self.unwrapInboundIn(data).readableBytes > 0 { deadline.bytesArrived(context) }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline.requestRead()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline.requestRead()
    }
}

/// Stops the deadline when the request's last part was decoded.
final class RequestEndHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let deadline: RequestReadDeadline

    fileprivate init(_ deadline: RequestReadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = Self.unwrapInboundIn(data) { deadline.requestRead() }
        context.fireChannelRead(data)
    }
}
