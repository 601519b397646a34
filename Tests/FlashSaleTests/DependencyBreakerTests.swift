import CircuitBreaking
import FlashSale
import Logging
import RedisClient
import Testing

/// A dependency's breaker around real calls: failures open it, it refuses at once while open,
/// and answers that are the dependency's own (a Redis error reply) do not count against it.
@Suite struct DependencyBreakerTests {
    static let policy = CircuitBreaker.Policy(
        window: .seconds(10), minimumCalls: 4, failureRatio: 0.5, coolDown: .milliseconds(200), probeTimeout: .seconds(5))

    struct Down: Error {}

    @Test func failuresOpenItThenAProbeClosesIt() async throws {
        let breaker = DependencyBreaker("redis", policy: Self.policy, logger: Logger(label: "test"))
        for _ in 0..<4 {
            await #expect(throws: Down.self) { try await breaker.run { throw Down() } }
        }
        #expect(breaker.state == .open)
        let refused = try #require(breaker.refusal())
        #expect(refused.retryAfterSeconds == 1)
        await #expect(throws: DependencyUnavailable.self) { try await breaker.run { 1 } }
        try await Task.sleep(for: .milliseconds(250))
        #expect(breaker.refusal() == nil)
        #expect(try await breaker.run { 2 } == 2)
        #expect(breaker.state == .closed)
    }

    @Test func theDependencysOwnAnswersDoNotCount() async throws {
        let breaker = DependencyBreaker("redis", policy: Self.policy, logger: Logger(label: "test"))
        for _ in 0..<6 {
            await #expect(throws: RedisError.self) {
                try await breaker.run(isFailure: RedisError.isOutage) { throw RedisError.server("OOM command not allowed") }
            }
        }
        #expect(breaker.state == .closed)
        #expect(RedisError.isOutage(RedisError.connectionClosed))
    }
}
