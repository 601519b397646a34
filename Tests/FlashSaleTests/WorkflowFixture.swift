import FlashSale
import FlashSaleTestSupport
import Logging
import PostgresNIO
import RedisClient
import Testing

/// A purchase workflow over a fresh migrated database and its own Redis server, with `sale`
/// created in both, whose group commit writes through what `orderWrites` makes of the database
/// (its URL and a pool on it).
enum WorkflowFixture {
    static func run(
        _ sale: TestSale, orderWrites: @escaping @Sendable (DatabaseURL, PostgresClient) -> any PostgresConnectionSource,
        breakers: DependencyBreakers? = nil,
        _ body: @Sendable (PurchaseWorkflow, RedisClient, PostgresClient) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let redisServer = try await TestRedisServer()
            let redis = RedisClient(configuration: redisServer.configuration)
            try await sale.create(postgres: postgres, redis: redis)
            let workflow = PurchaseWorkflow(
                catalog: SaleCatalog(repository: SaleRepository(postgres: postgres, logger: TestDatabase.logger)),
                reservations: StockReservations(redis: redis),
                committer: CoalescingOrderCommitter(
                    writer: OrderBatchWriter(connections: orderWrites(url, postgres), logger: TestDatabase.logger)),
                breakers: breakers, logger: TestDatabase.logger)
            try await body(workflow, redis, postgres)
            await redis.close()
            // Its deinit stops the server: keep it until the body is done.
            withExtendedLifetime(redisServer) {}
        }
    }
}

extension WorkflowFixture {
    /// `count` shoppers of `sale`, each with a fresh checkout token.
    static func buyers(_ count: Int, of sale: TestSale, redis: RedisClient) async throws -> [(shopper: String, token: String)] {
        let checkout = CheckoutTokens(redis: redis)
        var buyers: [(shopper: String, token: String)] = []
        for index in 0..<count {
            buyers.append(("shopper-\(index)", try await checkout.issue(saleID: sale.id, shopperID: "shopper-\(index)")))
        }
        return buyers
    }

    /// One unit of `sale` for each buyer, all at once.
    static func buyAtOnce(
        _ buyers: [(shopper: String, token: String)], of sale: TestSale, with workflow: PurchaseWorkflow
    ) async -> [PurchaseOutcome] {
        await withTaskGroup(of: PurchaseOutcome.self) { group in
            for (shopper, token) in buyers {
                group.addTask {
                    await workflow.purchase(saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: shopper)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Every outcome is a 503 that gave its units back, and Redis holds the whole stock again.
    static func expectAllRefusedWithUnitsBack(
        _ outcomes: [PurchaseOutcome], count: Int, of sale: TestSale, redis: RedisClient
    ) async throws {
        #expect(outcomes.count == count)
        for outcome in outcomes {
            guard case .rejected(.unavailable, let detail) = outcome else {
                Issue.record("expected 503 unavailable, got \(outcome)")
                continue
            }
            #expect(detail.contains("the stock was released"), "\(detail)")
        }
        let keys = RedisKeys(saleID: sale.id)
        #expect(try await redis.send("GET", .string(keys.stock(sale.sku))).integer == sale.stock)
        #expect(try await redis.send("ZCARD", .string(keys.reservations)).integer == 0)
    }
}
