import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Collects one answer on the connection's event loop and notes when its request went onto the
/// wire and when its last byte came back, as wrk does. Timing there, instead of after the
/// awaiting task resumes, keeps the generator's own thread hops out of the service's latency:
/// a hop costs about as much as a fast route's whole answer on a 2-core VM.
final class WireTimedResponse: HTTPClientResponseDelegate {
    struct Response: Sendable {
        var status: Int
        var retryAfter: String?
        var body: ByteBuffer
        /// When the request head was written; nil when it never was.
        var sent: ContinuousClock.Instant?
        var answered: ContinuousClock.Instant
    }

    private struct State {
        var sent: ContinuousClock.Instant?
        var head: HTTPResponseHead?
        var body = ByteBuffer()
    }

    private let state = Mutex(State())
    private let bodyLimit: Int

    init(bodyLimit: Int = 1 << 20) {
        self.bodyLimit = bodyLimit
    }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        let now = ContinuousClock.now
        state.withLock { $0.sent = now }
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock { $0.head = head }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        var buffer = buffer
        let fits = state.withLock { state in
            guard state.body.readableBytes + buffer.readableBytes <= bodyLimit else { return false }
            state.body.writeBuffer(&buffer)
            return true
        }
        return fits ? task.eventLoop.makeSucceededVoidFuture() : task.eventLoop.makeFailedFuture(BodyTooLarge())
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        let now = ContinuousClock.now
        return state.withLock { state in
            Response(
                status: Int(state.head?.status.code ?? 0), retryAfter: state.head?.headers.first(name: "Retry-After"),
                body: state.body, sent: state.sent, answered: now)
        }
    }

    struct BodyTooLarge: Error {}
}
