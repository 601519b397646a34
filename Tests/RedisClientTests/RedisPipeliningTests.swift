import FlashSaleTestSupport
import RedisClient
import Testing

@Suite("Many commands in flight on one connection")
struct RedisPipeliningTests {
    @Test func tenThousandConcurrentCommandsKeepTheirPairing() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 1
        try await withClient(configuration) { redis async throws in
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10_000 {
                    group.addTask {
                        // Alternate reply types so a shifted pairing cannot go unnoticed.
                        if index % 2 == 0 {
                            let reply = try await redis.send("ECHO", .string("value-\(index)"))
                            return reply == .bulk(Array("value-\(index)".utf8)) ? 0 : 1
                        } else {
                            let reply = try await redis.send("INCRBY", .string("counter-\(index)"), .integer(Int64(index)))
                            return reply == .integer(Int64(index)) ? 0 : 1
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            let clients = try await redis.send("CLIENT", "LIST")
            let connections = clients.string?.split(separator: "\n").filter { $0.contains("cmd=") }.count
            #expect(connections == 1)
        }
    }

    @Test func commandsSpreadOverThePool() async throws {
        let server = try await TestRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 3
        try await withClient(configuration) { redis async throws in
            for index in 0..<30 {
                #expect(try await redis.send("ECHO", .integer(Int64(index))) == .bulk(Array("\(index)".utf8)))
            }
            let list = try await redis.send("CLIENT", "LIST").string ?? ""
            #expect(list.split(separator: "\n").count == 3)
        }
    }
}
