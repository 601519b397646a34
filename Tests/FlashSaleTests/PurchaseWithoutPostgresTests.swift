import CircuitBreaking
import FlashSale
import FlashSaleTestSupport
import Foundation
import NIOPosix
import RedisClient
import Testing

@Suite("PurchaseWorkflow: order writes that cannot reach PostgreSQL give the units back")
struct PurchaseWithoutPostgresTests {
    /// No connection means no statement was sent, so nothing can have committed: each winner is
    /// answered 503 at once, its units and its count go back to Redis, and its token's record says
    /// failed, so a retry with it replays the 503 and a new token can try again.
    @Test func everyWinnerIsAnswered503AndTheStockIsWhole() async throws {
        let sale = TestSale(stock: 5, perShopperLimit: 1)
        // The catalog still reads PostgreSQL; only the order writes meet a server that closes on them.
        let refusing = try await ClosingServer.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = OrderWriteConnections(
            database: try DatabaseURL("postgres://flashsale@127.0.0.1:\(refusing.port)/nowhere"),
            eventLoopGroup: group, logger: TestDatabase.logger)
        try await WorkflowFixture.run(sale, orderWrites: { _, _ in connections }) { workflow, redis, _ in
            let checkout = CheckoutTokens(redis: redis)
            let tokens = try await WorkflowFixture.buyers(5, of: sale, redis: redis)
            func buy(_ shopper: String, _ token: String) async -> PurchaseOutcome {
                await workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: shopper)
            }

            let outcomes = await WorkflowFixture.buyAtOnce(tokens, of: sale, with: workflow)
            try await WorkflowFixture.expectAllRefusedWithUnitsBack(outcomes, count: 5, of: sale, redis: redis)
            guard case .replayRejected(.unavailable, _) = await buy(tokens[0].shopper, tokens[0].token) else {
                Issue.record("expected the 503 replayed for a token already answered")
                return
            }
            // Within the per-shopper limit of 1 again: the count went back with the unit.
            let again = try await checkout.issue(saleID: sale.id, shopperID: tokens[0].shopper)
            guard case .rejected(.unavailable, _) = await buy(tokens[0].shopper, again) else {
                Issue.record("expected 503 unavailable for a new token while PostgreSQL is out of reach")
                return
            }
            #expect(try await redis.send("GET", .string(RedisKeys(saleID: sale.id).stock(sale.sku))).integer == 5)
        }
        await connections.close()
        try await group.shutdownGracefully()
        try await refusing.stop()
    }

    /// Once PostgreSQL's breaker has opened on the failed writes, attempts are answered 503 with
    /// its cool-down before Redis is asked: no unit is taken, no purchase script runs.
    @Test func whilePostgresBreakerIsOpenNoStockIsTakenInRedis() async throws {
        let sale = TestSale(stock: 5, perShopperLimit: 5)
        let refusing = try await ClosingServer.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = OrderWriteConnections(
            database: try DatabaseURL("postgres://flashsale@127.0.0.1:\(refusing.port)/nowhere"),
            eventLoopGroup: group, logger: TestDatabase.logger)
        let policy = CircuitBreaker.Policy(
            window: .seconds(10), minimumCalls: 3, failureRatio: 0.5, coolDown: .seconds(30), probeTimeout: .seconds(30))
        let breakers = DependencyBreakers(policy: policy, logger: TestDatabase.logger)
        try await WorkflowFixture.run(sale, orderWrites: { _, _ in connections }, breakers: breakers) { workflow, redis, _ in
            let tokens = try await WorkflowFixture.buyers(5, of: sale, redis: redis)
            for (shopper, token) in tokens.prefix(3) {
                _ = await workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: shopper)
            }
            #expect(breakers.postgres.state == .open)
            let scripts = try await RedisCommandStats.scriptRuns(redis)
            for (shopper, token) in tokens.suffix(2) {
                let outcome = await workflow.purchase(
                    saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: shopper)
                guard case .unavailable(let unavailable) = outcome else {
                    Issue.record("expected the breaker's 503, got \(outcome)")
                    continue
                }
                #expect(unavailable.dependency == "postgres")
                #expect(unavailable.retryAfterSeconds > 20)
            }
            #expect(try await RedisCommandStats.scriptRuns(redis) == scripts)
            #expect(try await redis.send("GET", .string(RedisKeys(saleID: sale.id).stock(sale.sku))).integer == 5)
        }
        await connections.close()
        try await group.shutdownGracefully()
        try await refusing.stop()
    }
}
