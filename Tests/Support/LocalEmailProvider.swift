import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A stand-in for the e-mail provider's HTTP API on 127.0.0.1 (a port of its own): records every
/// request it receives and answers as scripted (500 then 200, always 400, 429 with Retry-After, or
/// never), so tests see exactly what a real provider would see.
public final class LocalEmailProvider: Sendable {
    /// One request as received.
    public struct Receipt: Sendable {
        public let receivedAt: ContinuousClock.Instant
        public let method: HTTPMethod
        public let uri: String
        public let headers: HTTPHeaders
        public let body: [UInt8]
    }

    /// How to answer one request.
    public enum Reply: Sendable {
        case status(Int, headers: [(String, String)] = [], body: String = "")
        /// Read the request, never answer (a hung provider).
        case hang

        public static let ok = Reply.status(200, headers: [("Content-Type", "application/json")], body: #"{"status":"queued"}"#)
    }

    private struct State {
        var receipts: [Receipt] = []
        var script: [Reply] = []
        var fallback: Reply = .ok
        var connections: [any Channel] = []
    }

    private let state = Mutex(State())
    private let serverChannel = Mutex<(any Channel)?>(nil)

    /// - Parameters:
    ///   - script: the answers to the first requests, in order;
    ///   - then: the answer to every request after them.
    public init(script: [Reply] = [], then fallback: Reply = .ok) {
        state.withLock {
            $0.script = script
            $0.fallback = fallback
        }
    }

    /// Starts listening on a free port; `url` is then valid.
    public func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] child in
                state.withLock { $0.connections.append(child) }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(Handler(provider: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        serverChannel.withLock { $0 = channel }
    }

    public var port: Int { serverChannel.withLock { $0?.localAddress?.port ?? 0 } }
    public var url: String { "http://127.0.0.1:\(port)/v1/messages" }
    public var receipts: [Receipt] { state.withLock { $0.receipts } }

    /// Closes the listener and every connection (hung ones included).
    public func stop() async {
        let (server, connections) = (
            serverChannel.withLock { $0 }, state.withLock { $0.connections }
        )
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }

    fileprivate func receive(_ receipt: Receipt) -> Reply {
        state.withLock { state in
            state.receipts.append(receipt)
            return state.script.isEmpty ? state.fallback : state.script.removeFirst()
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let provider: LocalEmailProvider
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(provider: LocalEmailProvider) { self.provider = provider }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let chunk):
                body.append(contentsOf: chunk.readableBytesView)
            case .end:
                guard let head else { return }
                let reply = provider.receive(
                    Receipt(receivedAt: .now, method: head.method, uri: head.uri, headers: head.headers, body: body))
                guard case .status(let code, let extra, let text) = reply else { return }  // .hang: say nothing
                var headers = HTTPHeaders(extra)
                headers.replaceOrAdd(name: "Content-Length", value: String(text.utf8.count))
                let response = HTTPResponseHead(
                    version: head.version, status: HTTPResponseStatus(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
