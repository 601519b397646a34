import FlashSaleTestSupport
import RedisClient
import Synchronization
import Testing

@Suite("Commands sent without waiting, ordered by affinity")
struct RedisAffinityTests {
    @Test func oneAffinityIsOneConnection() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 4
        try await withClient(configuration) { redis async throws in
            for affinity in [0, 1, 7, -3, Int.max, Int.min] {
                var ids: Set<RedisReply> = []
                for _ in 0..<8 { ids.insert(try await redis.send(["CLIENT", "ID"], affinity: affinity)) }
                #expect(ids.count == 1, "affinity \(affinity) used \(ids.count) connections")
            }
        }
    }

    /// A command sent without waiting is queued before `send` returns, so a command sent after it
    /// with the same affinity (awaited or not) runs after it, although four connections are open.
    @Test func commandsQueuedWithoutWaitingRunInOrder() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 4
        try await withClient(configuration) { redis async throws in
            // Open every connection first: queuing without waiting needs a live one.
            for affinity in 0..<4 { _ = try await redis.send(["PING"], affinity: affinity) }
            let replies = Mutex<[Int64]>([])
            // Not loaded beforehand: the first rounds send it whole, later ones by SHA1.
            let script = RedisScript("return redis.call('RPUSH', KEYS[1], ARGV[1])")
            for round in 0..<200 {
                let key = RedisArgument.string("list-\(round)")
                redis.send(["RPUSH", key, "first"], affinity: round) { result in
                    if case .success(let reply) = result, let length = reply.integer { replies.withLock { $0.append(length) } }
                }
                redis.run(script, keys: [key], arguments: ["second"], affinity: round) { _ in }
                let last = try await redis.send(["RPUSH", key, "third"], affinity: round)
                #expect(last == .integer(3))
                let list = try await redis.send(["LRANGE", key, "0", "-1"], affinity: round)
                #expect(list == .array([.bulk(Array("first".utf8)), .bulk(Array("second".utf8)), .bulk(Array("third".utf8))]))
            }
            #expect(replies.withLock { $0 } == Array(repeating: 1, count: 200))
        }
    }

    @Test func aCommandSentWithoutWaitingReportsErrorsAndConnectsWhenNeeded() async throws {
        let server = try await TestRedisServer()
        try await withClient(server.configuration) { redis async throws in
            // No connection is open yet: the command waits for one instead of being dropped.
            let outcome = try await withCheckedThrowingContinuation { continuation in
                redis.send(["INCR", "counter"], affinity: 1) { continuation.resume(with: $0) }
            }
            #expect(outcome == .integer(1))
            _ = try await redis.send(["SET", "text", "not a number"])
            let failure = await withCheckedContinuation { continuation in
                redis.send(["INCR", "text"], affinity: 1) { continuation.resume(returning: $0) }
            }
            guard case .failure(let error as RedisError) = failure, case .server = error else {
                Issue.record("expected a server error, got \(failure)")
                return
            }
        }
    }

    @Test func aScriptRunWithoutWaitingIsLoadedWhenRedisForgotIt() async throws {
        let server = try await TestRedisServer()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await withClient(server.configuration) { redis async throws in
            #expect(try await redis.run(script, keys: ["runs"], arguments: [1], affinity: 0) == .integer(1))
            #expect(try await redis.send("SCRIPT", "FLUSH") == .status("OK"))
            let reply = try await withCheckedThrowingContinuation { continuation in
                redis.run(script, keys: ["runs"], arguments: [1], affinity: 0) { continuation.resume(with: $0) }
            }
            #expect(reply == .integer(2))
        }
    }
}
