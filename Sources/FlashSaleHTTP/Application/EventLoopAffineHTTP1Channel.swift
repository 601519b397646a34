import FlashSale
import HummingbirdCore
import Logging
import NIOCore

/// HTTP/1 whose connections are served on their channel's event loop: reading a request, running
/// the route and writing the answer all happen on the thread that does the connection's I/O, as do
/// the awaits on Redis and PostgreSQL connections of the same loop. Hummingbird's own HTTP/1
/// channel runs them on Swift's global executor, which costs a thread hand-off at every await.
///
/// It also holds each connection to ``HTTPConnectionLimits``: the cap on open connections, the
/// deadline for reading a request (the idle timeout is Hummingbird's own), and the cut at the end
/// of a shutdown.
struct EventLoopAffineHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let requestReadTimeout: Duration
    let connections: OpenConnections
    let metrics: ConnectionMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        // A failed setup is the refusal: NIO then neither registers the channel nor hands it to the
        // server, and `admit` has closed it.
        guard connections.admit(channel) else {
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        let timeout = requestReadTimeout
        let readTimeouts = metrics.readTimeouts
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try RequestReadDeadline.install(
                timeout: timeout, expirations: readTimeouts, on: channel.pipeline.syncOperations)
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopExecutor.of(value.channel.eventLoop)) {
            await withTaskCancellationHandler {
                await base.handle(value: value, logger: logger)
            } onCancel: {
                // The shutdown's time is up: cut the whole connection (Hummingbird closes only its
                // input), so the client hears at once and the request's task meets a closed channel.
                // A purchase cut here settles as after a crash: its order is committed or not, and
                // the reservation ledger gives back the units of one that is not.
                metrics.cut.increment()
                value.channel.close(promise: nil)
            }
        }
    }
}

/// A connection turned away at the connection cap.
struct ConnectionRefused: Error {}

extension HTTPServerBuilder {
    /// The service's HTTP server: HTTP/1, each connection on its own event loop, within `limits`.
    public static func flashSale(limits: HTTPConnectionLimits = .init()) -> HTTPServerBuilder {
        let metrics = ConnectionMetrics()
        let connections = OpenConnections(maximum: limits.maximumConnections, metrics: metrics)
        return HTTPServerBuilder { responder in
            EventLoopAffineHTTP1Channel(
                base: HTTP1Channel(
                    responder: responder, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout))),
                requestReadTimeout: limits.requestReadTimeout, connections: connections, metrics: metrics)
        }
    }
}
