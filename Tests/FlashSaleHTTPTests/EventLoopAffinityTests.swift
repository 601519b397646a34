import FlashSaleHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("The service's HTTP server runs each connection on its event loop")
struct EventLoopAffinityTests {
    /// A context that keeps the request's channel, to ask which thread the route runs on.
    struct ChannelContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let channel: any Channel

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }
    }

    @Test func aRouteRunsOnItsConnectionsLoopBeforeAndAfterAnAwait() async throws {
        let router = Router(context: ChannelContext.self)
        router.get("/where") { _, context -> String in
            let before = context.channel.eventLoop.inEventLoop
            // A timer on another thread resumes the route: it must come back to the connection's loop.
            try await Task.sleep(for: .milliseconds(2))
            let after = context.channel.eventLoop.inEventLoop
            return "\(before) \(after)"
        }
        let app = Application(
            router: router, server: .flashSale(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/where", method: .get) { response in
                    #expect(String(buffer: response.body) == "true true")
                }
            }
        }
    }
}
