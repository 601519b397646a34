import FlashSaleTestSupport
import RedisClient
import Testing

@Suite("EVALSHA with SCRIPT LOAD and NOSCRIPT recovery")
struct RedisScriptTests {
    @Test func reloadsTransparentlyAfterScriptFlushAndRunsOnce() async throws {
        let server = try await TestRedisServer()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await withClient(server.configuration) { redis async throws in
            #expect(try await redis.run(script, keys: ["runs"], arguments: [1]) == .integer(1))
            let sha = try await redis.load(script)
            #expect(try await redis.send("SCRIPT", "EXISTS", .string(sha)) == .array([.integer(1)]))

            #expect(try await redis.send("SCRIPT", "FLUSH") == .status("OK"))
            #expect(try await redis.send("SCRIPT", "EXISTS", .string(sha)) == .array([.integer(0)]))
            // NOSCRIPT is answered before the script runs, so the retry runs it exactly once.
            #expect(try await redis.run(script, keys: ["runs"], arguments: [1]) == .integer(2))
            #expect(try await redis.send("SCRIPT", "EXISTS", .string(sha)) == .array([.integer(1)]))
            #expect(try await redis.send("GET", "runs") == .bulk(Array("2".utf8)))
        }
    }

    @Test func scriptsSurviveAServerRestart() async throws {
        let server = try await TestRedisServer()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await withClient(server.configuration) { redis async throws in
            #expect(try await redis.run(script, keys: ["k"], arguments: [5]) == .integer(5))
            await server.stop()
            try await server.start()
            let reply = try await eventually { try await redis.run(script, keys: ["k"], arguments: [5]) }
            #expect(reply == .integer(5))
        }
    }

    @Test func scriptErrorsAreThrown() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis async throws in
            let failing = RedisScript("return redis.error_reply('SOLD_OUT no stock')")
            let error = await #expect(throws: RedisError.self) { try await redis.run(failing, keys: []) }
            #expect(error?.serverErrorCode == "SOLD_OUT")
        }
    }
}
