import FlashSaleTestSupport
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Failures come back as Swift errors and the client recovers")
struct RedisFailureTests {
    @Test func reconnectsAfterTheServerRestarts() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 2
        try await withClient(configuration) { redis async throws in
            #expect(try await redis.send("SET", "before", "1") == .status("OK"))

            // Commands in flight while the server dies fail; none hangs, none crashes.
            async let inFlight = withTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask { (try? await redis.send("ECHO", .integer(Int64(index)))) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            await server.stop()
            _ = await inFlight
            await #expect(throws: RedisError.self) { try await redis.send("PING") }

            try await server.start()
            let reply = try await eventually { try await redis.send("ECHO", "after") }
            #expect(reply == .bulk(Array("after".utf8)))
            // Every connection of the pool comes back (each after its own back-off), and pairing holds on each.
            for index in 0..<20 {
                let echoed = try await eventually { try await redis.send("ECHO", .integer(Int64(index))) }
                #expect(echoed == .bulk(Array("\(index)".utf8)))
            }
            // The restarted server kept nothing (no persistence), which proves it is a new process.
            #expect(try await redis.send("GET", "before") == .null)
        }
    }

    @Test func connectionRefusedIsAnError() async throws {
        let server = try await TestRedisServer()
        let configuration = server.configuration
        await server.stop()
        try await withClient(configuration) { redis async throws in
            let error = await #expect(throws: RedisError.self) { try await redis.send("PING") }
            guard case .connectFailed? = error else {
                Issue.record("expected connectFailed, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func aSlowReplyTimesOutAndLaterRepliesStillPair() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 1
        try await withClient(configuration) { redis async throws in
            // Another client pauses the server; once it answers OK, no command is processed for 3 s.
            try await withClient(server.configuration) { admin async throws in
                #expect(try await admin.send("CLIENT", "PAUSE", 3000, "ALL") == .status("OK"))
            }
            await #expect(throws: RedisError.timeout) {
                try await redis.send(["ECHO", "too late"], timeout: .milliseconds(100))
            }
            // The abandoned reply arrives first and is dropped: the next caller gets its own answer.
            #expect(try await redis.send(["ECHO", "next"], timeout: .seconds(10)) == .bulk(Array("next".utf8)))
        }
    }

    @Test func malformedReplyIsAProtocolError() async throws {
        let garbage = try await GarbageServer.start()
        try await withClient(RedisConfiguration(host: "127.0.0.1", port: garbage.port)) { redis async throws in
            let error = await #expect(throws: RedisError.self) { try await redis.send("PING") }
            guard case .protocolError? = error else {
                Issue.record("expected protocolError, got \(String(describing: error))")
                return
            }
        }
        try await garbage.channel.close()
    }

    @Test func authenticatesAndSelectsTheDatabase() async throws {
        let server = try await TestRedisServer(extraArguments: ["--requirepass", "s3cret:with@chars"])
        var wrong = server.configuration
        wrong.password = "nope"
        try await withClient(wrong) { redis async throws in
            await #expect(throws: RedisError.self) { try await redis.send("PING") }
        }
        let databaseThree = try RedisConfiguration(url: "redis://:s3cret%3Awith%40chars@127.0.0.1:\(server.port)/3")
        try await withClient(databaseThree) { redis async throws in
            #expect(try await redis.send("SET", "in-three", "yes") == .status("OK"))
        }
        let databaseZero = try RedisConfiguration(url: "redis://:s3cret%3Awith%40chars@127.0.0.1:\(server.port)/0")
        try await withClient(databaseZero) { redis async throws in
            #expect(try await redis.send("EXISTS", "in-three") == .integer(0))
            #expect(try await redis.send("SELECT", 3) == .status("OK"))
        }
    }
}

/// A TCP server that answers anything with bytes that are not RESP.
struct GarbageServer {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    static func start() async throws -> GarbageServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GarbageHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return GarbageServer(channel: channel)
    }

    final class GarbageHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "?this is not RESP\r\n")), promise: nil)
        }
    }
}
