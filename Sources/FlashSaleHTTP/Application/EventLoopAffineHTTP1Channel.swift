import FlashSale
import HummingbirdCore
import Logging
import NIOCore

/// HTTP/1 whose connections are served on their channel's event loop: reading a request, running
/// the route and writing the answer all happen on the thread that does the connection's I/O, as do
/// the awaits on Redis and PostgreSQL connections of the same loop. Hummingbird's own HTTP/1
/// channel runs them on Swift's global executor, which costs a thread hand-off at every await.
struct EventLoopAffineHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopExecutor.of(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// The service's HTTP server: HTTP/1, each connection on its own event loop.
    public static func flashSale(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            EventLoopAffineHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
