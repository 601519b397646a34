import FlashSaleTestSupport
import RedisClient
import Testing

@Suite("Replies of every type, against a real redis-server")
struct RedisReplyTests {
    @Test func everyReplyType() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis async throws in
            #expect(try await redis.send("SET", "greeting", "hello") == .status("OK"))
            #expect(try await redis.send("GET", "greeting") == .bulk(Array("hello".utf8)))
            #expect(try await redis.send("GET", "missing") == .null)
            #expect(try await redis.send("INCRBY", "counter", 41) == .integer(41))
            #expect(try await redis.send("INCR", "counter") == .integer(42))
            #expect(try await redis.send("RPUSH", "list", "a", "b") == .integer(2))
            #expect(
                try await redis.send("MGET", "greeting", "missing")
                    == .array([.bulk(Array("hello".utf8)), .null]))
            #expect(try await redis.send("LRANGE", "empty", 0, -1) == .array([]))
            // An error nested inside an array stays a value.
            let nested = try await redis.send("EVAL", "return {1, redis.error_reply('BOOM went the script')}", 0)
            #expect(nested == .array([.integer(1), .error("BOOM went the script")]))
        }
    }

    @Test func topLevelErrorIsThrown() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis async throws in
            _ = try await redis.send("SET", "text", "not a number")
            let error = await #expect(throws: RedisError.self) { try await redis.send("INCR", "text") }
            #expect(error?.serverErrorCode == "ERR")
            await #expect(throws: RedisError.self) { try await redis.send("NO-SUCH-COMMAND") }
            // The connection is still good after error replies.
            #expect(try await redis.send("PING") == .status("PONG"))
        }
    }

    @Test func valuesAreBinarySafe() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis async throws in
            let value = (0...255).map { UInt8($0) } + Array("\r\n$-1\r\n*3\r\n".utf8) + [0, 0]
            let key: [UInt8] = [0, 13, 10, 255, 36]
            #expect(try await redis.send("SET", .bytes(key), .bytes(value)) == .status("OK"))
            #expect(try await redis.send("GET", .bytes(key)) == .bulk(value))
            #expect(try await redis.send("STRLEN", .bytes(key)) == .integer(Int64(value.count)))
            let large = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            #expect(try await redis.send("SET", "large", .bytes(large)) == .status("OK"))
            #expect(try await redis.send("GET", "large") == .bulk(large))
        }
    }
}
