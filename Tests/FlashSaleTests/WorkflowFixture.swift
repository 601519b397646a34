import FlashSale
import FlashSaleTestSupport
import Logging
import PostgresNIO
import RedisClient

/// A purchase workflow over a fresh migrated database and its own Redis server, with `sale`
/// created in both, whose group commit writes through what `orderWrites` makes of the pool.
enum WorkflowFixture {
    static func run(
        _ sale: TestSale, orderWrites: @escaping @Sendable (PostgresClient) -> any PostgresConnectionSource,
        _ body: @Sendable (PurchaseWorkflow, RedisClient, PostgresClient) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let redisServer = try await TestRedisServer()
            let redis = RedisClient(configuration: redisServer.configuration)
            try await sale.create(postgres: postgres, redis: redis)
            let workflow = PurchaseWorkflow(
                catalog: SaleCatalog(repository: SaleRepository(postgres: postgres, logger: TestDatabase.logger)),
                reservations: StockReservations(redis: redis),
                committer: CoalescingOrderCommitter(
                    writer: OrderBatchWriter(connections: orderWrites(postgres), logger: TestDatabase.logger)),
                logger: TestDatabase.logger)
            try await body(workflow, redis, postgres)
            await redis.close()
            // Its deinit stops the server: keep it until the body is done.
            withExtendedLifetime(redisServer) {}
        }
    }
}
