import NIOCore
import NIOPosix
import Synchronization

/// A TCP server that closes every connection as soon as it accepts it, and counts them: a server
/// that is there but does not serve, where each connection attempt can be seen.
public final class ClosingServer: Sendable {
    private final class Counter: Sendable {
        let accepted = Atomic<Int>(0)
    }

    public let channel: any Channel
    private let counter: Counter

    public var port: Int { channel.localAddress!.port! }
    public var acceptedConnections: Int { counter.accepted.load(ordering: .relaxed) }

    private init(channel: any Channel, counter: Counter) {
        self.channel = channel
        self.counter = counter
    }

    public static func start() async throws -> ClosingServer {
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                counter.accepted.add(1, ordering: .relaxed)
                return child.close()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ClosingServer(channel: channel, counter: counter)
    }

    public func stop() async throws {
        try await channel.close()
    }
}
