import NIOCore
import NIOPosix

/// A TCP server that accepts connections and never answers: a hung dependency.
public struct SilentServer: Sendable {
    public let channel: any Channel
    public var port: Int { channel.localAddress!.port! }

    public static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel)
    }
}
