import ArgumentParser
import Foundation
import RedisClient
import Synchronization

/// Drives the purchase-shaped script through our client at a given concurrency, for `make bench`.
@main
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsale-redis-bench",
        abstract: "Measure the Redis client on the purchase-shaped Lua script (compare with redis-benchmark).")

    @Option(help: "Redis URL; use a database of its own, the benchmark writes keys.")
    var redisURL = "redis://127.0.0.1:56379/15"

    @Option(help: "Connections (redis-benchmark -c).")
    var connections = 50

    @Option(help: "Commands in flight per connection (redis-benchmark -P).")
    var pipeline = 1

    @Option(help: "Total requests (redis-benchmark -n).")
    var requests = 200_000

    @Option(help: "Random range for the __rand_int__ keys (redis-benchmark -r).")
    var keyspace = 100_000

    @Flag(help: "Print the Lua source, then exit.")
    var printScript = false

    @Flag(help: "Print the redis-benchmark arguments that follow `EVALSHA <sha>`, then exit.")
    var printBenchmarkArguments = false

    func run() async throws {
        if printScript {
            print(PurchaseShapedScript.source)
            return
        }
        if printBenchmarkArguments {
            print(PurchaseShapedScript.benchmarkArguments)
            return
        }
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.connectionCount = connections
        configuration.commandTimeout = .seconds(30)
        let redis = RedisClient(configuration: configuration)
        let script = RedisScript(PurchaseShapedScript.source)
        _ = try await redis.send("SET", .string(PurchaseShapedScript.stockKey), "1000000000000000")
        try await redis.load(script)

        let budget = RequestBudget(requests)
        let workers = connections * pipeline
        let keyspace = self.keyspace
        let requests = self.requests
        let start = ContinuousClock.now
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var failures = 0
                    var generator = SystemRandomNumberGenerator()
                    while budget.take() {
                        let (keys, arguments) = PurchaseShapedScript.arguments(
                            random: Int.random(in: 0..<keyspace, using: &generator))
                        do {
                            _ = try await redis.run(script, keys: keys, arguments: arguments)
                        } catch {
                            failures += 1
                        }
                    }
                    return failures
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        await redis.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(requests) / seconds
        print(
            "flashsale-redis-bench: \(String(format: "%.0f", rate)) requests per second "
                + "(\(requests) requests, \(connections) connections, \(pipeline) in flight each, \(failures) failed)")
        if failures > 0 { throw ExitCode(1) }
    }
}

/// Hands out the benchmark's requests to its workers, so exactly `total` are sent.
final class RequestBudget: Sendable {
    private let issued = Atomic<Int>(0)
    private let total: Int

    init(_ total: Int) { self.total = total }

    func take() -> Bool { issued.add(1, ordering: .relaxed).oldValue < total }
}
