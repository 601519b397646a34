import FlashSale
import Hummingbird
import Logging
import PostgresNIO
import RedisClient

/// The long-lived clients an application serves with. Whoever runs the application runs them as services.
public struct AppDependencies: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let shopperTokens: ShopperTokens
    public let paymentGateway: any PaymentGateway

    public init(
        postgres: PostgresClient, redis: RedisClient, shopperTokens: ShopperTokens,
        paymentGateway: any PaymentGateway = SandboxPaymentGateway()
    ) {
        self.postgres = postgres
        self.redis = redis
        self.shopperTokens = shopperTokens
        self.paymentGateway = paymentGateway
    }

    public init(configuration: FlashSaleConfiguration, logger: Logger) async {
        postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(
                maxConnections: configuration.databaseMaxConnections),
            backgroundLogger: logger.poolLogger)
        redis = RedisClient(configuration: configuration.redis)
        shopperTokens = await ShopperTokens(secret: configuration.jwtSecret)
        paymentGateway = SandboxPaymentGateway()
    }
}

/// Every route of the service, behind the middleware every request passes through.
public func buildRouter(dependencies: AppDependencies, logger: Logger) -> Router<AppRequestContext> {
    _ = PrometheusMetrics.registry
    let router = Router(context: AppRequestContext.self)
    let routeMethods = RouteMethods()
    router.addMiddleware {
        LogRequestsMiddleware(.info)
        MetricsMiddleware()
        ProblemMiddleware(routeMethods: routeMethods)
    }
    HealthRoutes(readiness: ReadinessCheck(postgres: dependencies.postgres, redis: dependencies.redis, logger: logger))
        .register(on: router)
    PrometheusMetrics.register(on: router)

    let sales = SaleRepository(postgres: dependencies.postgres, logger: logger)
    let catalog = SaleCatalog(repository: sales)
    let reservations = StockReservations(redis: dependencies.redis)
    SaleRoutes(repository: sales, reservations: reservations, logger: logger).register(on: router)

    let shopperRoutes = router.group().add(middleware: ShopperAuthenticationMiddleware(tokens: dependencies.shopperTokens))
    CheckoutTokenRoutes(catalog: catalog, tokens: CheckoutTokens(redis: dependencies.redis), logger: logger)
        .register(on: shopperRoutes)
    let committer = CoalescingOrderCommitter(writer: OrderBatchWriter(postgres: dependencies.postgres, logger: logger))
    OrderRoutes(
        workflow: PurchaseWorkflow(catalog: catalog, reservations: reservations, committer: committer, logger: logger),
        orders: OrderRepository(postgres: dependencies.postgres, logger: logger),
        payments: PaymentWorkflow(postgres: dependencies.postgres, gateway: dependencies.paymentGateway, logger: logger),
        cancellation: OrderCancellation(postgres: dependencies.postgres, reservations: reservations, logger: logger)
    ).register(on: shopperRoutes)
    routeMethods.record(router)
    return router
}

/// The service as `flashsale serve` runs it: migrates PostgreSQL before accepting connections,
/// then serves until SIGINT/SIGTERM, letting in-flight requests finish before the pools close.
public func buildApplication(
    configuration: FlashSaleConfiguration, migrations: [Migration], logger: Logger
) async -> some ApplicationProtocol {
    let dependencies = await AppDependencies(configuration: configuration, logger: logger)
    var app = Application(
        router: buildRouter(dependencies: dependencies, logger: logger),
        configuration: .init(
            address: .hostname(configuration.httpHost, port: configuration.httpPort),
            serverName: "flashsale"),
        services: [dependencies.postgres, dependencies.redis],
        logger: logger)
    app.beforeServerStarts {
        try await Migrator(client: dependencies.postgres, logger: logger).migrate(migrations)
    }
    return app
}
