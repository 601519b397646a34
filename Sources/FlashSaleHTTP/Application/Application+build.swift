import CircuitBreaking
import FlashSale
import Hummingbird
import Logging
import Metrics
import NIOPosix
import PostgresNIO
import RedisClient
import ServiceLifecycle

/// The long-lived clients an application serves with. Whoever runs the application runs them as services.
public struct AppDependencies: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let shopperTokens: ShopperTokens
    public let paymentGateway: any PaymentGateway
    public let paymentSettings: PaymentSettings
    /// The group commit's own connections; nil writes the batches over the pool.
    public let orderWrites: OrderWriteConnections?
    /// The limits each route group is held to, and whose `X-Forwarded-For` names the client.
    public let rateLimits: RateLimitPolicy
    public let trustedProxies: TrustedProxies
    public let rateLimitAllowList: IPRanges
    /// The adaptive limit on requests in flight; nil sheds nothing.
    public let loadShedding: AdaptiveConcurrencyLimit.Settings?
    /// The circuit breakers' policy for Redis, PostgreSQL and the payment gateway; nil: no breakers.
    public let breakerPolicy: CircuitBreaker.Policy?

    public init(
        postgres: PostgresClient, redis: RedisClient, shopperTokens: ShopperTokens,
        paymentGateway: any PaymentGateway = SandboxPaymentGateway(), paymentSettings: PaymentSettings = PaymentSettings(),
        orderWrites: OrderWriteConnections? = nil, rateLimits: RateLimitPolicy = .off,
        trustedProxies: TrustedProxies = .none, rateLimitAllowList: IPRanges = .none,
        loadShedding: AdaptiveConcurrencyLimit.Settings? = nil, breakerPolicy: CircuitBreaker.Policy? = nil
    ) {
        self.postgres = postgres
        self.redis = redis
        self.shopperTokens = shopperTokens
        self.paymentGateway = paymentGateway
        self.paymentSettings = paymentSettings
        self.orderWrites = orderWrites
        self.rateLimits = rateLimits
        self.trustedProxies = trustedProxies
        self.rateLimitAllowList = rateLimitAllowList
        self.loadShedding = loadShedding
        self.breakerPolicy = breakerPolicy
    }

    public init(configuration: FlashSaleConfiguration, logger: Logger) async {
        postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(
                maxConnections: configuration.databaseMaxConnections, alwaysOpen: true),
            backgroundLogger: logger.poolLogger)
        redis = RedisClient(configuration: configuration.redis)
        shopperTokens = await ShopperTokens(secret: configuration.jwtSecret, policy: TokenPolicy(configuration))
        paymentGateway = SandboxPaymentGateway()
        paymentSettings = PaymentSettings()
        orderWrites = OrderWriteConnections(
            database: configuration.database, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            lockTimeout: .milliseconds(Int64(configuration.orderWriteLockTimeoutMilliseconds)),
            statementTimeout: .milliseconds(Int64(configuration.orderWriteStatementTimeoutMilliseconds)), logger: logger)
        rateLimits = configuration.rateLimits
        trustedProxies = configuration.trustedProxies
        rateLimitAllowList = configuration.rateLimitAllowList
        loadShedding = configuration.loadShedding
        breakerPolicy = DependencyBreakers.defaultPolicy
    }

    /// What the application must run beside its server, in start order.
    public var services: [any Service] {
        [postgres, redis] + (orderWrites.map { [$0] } ?? [])
    }
}

/// Every route of the service, behind the middleware every request passes through.
public func buildRouter(dependencies: AppDependencies, logger: Logger) -> Router<AppRequestContext> {
    _ = PrometheusMetrics.registry
    // HEAD as GET without the body, as RFC 9110 asks of every general-purpose server.
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    let routeMethods = RouteMethods()
    router.addMiddleware {
        // One line per request at flash-sale rates is noise; counts and latencies are in /metrics.
        LogRequestsMiddleware(.debug)
        MetricsMiddleware()
        ProblemMiddleware(routeMethods: routeMethods)
    }
    HealthRoutes(readiness: ReadinessCheck(postgres: dependencies.postgres, redis: dependencies.redis, logger: logger))
        .register(on: router)
    PrometheusMetrics.register(on: router)

    let limiter = RateLimiter(
        policy: dependencies.rateLimits, trustedProxies: dependencies.trustedProxies,
        allowList: dependencies.rateLimitAllowList, redis: dependencies.redis, logger: logger)
    let authentication = ShopperAuthenticationMiddleware(tokens: dependencies.shopperTokens)
    /// The routes of `group`: shedding by priority, client and route-wide limits, then (for shoppers) the token, then the shopper's limits.
    let shedder = dependencies.loadShedding.map { LoadShedder(settings: $0) }
    func routes(_ group: RateLimitPolicy.RouteGroup, shopper: Bool = true) -> RouterGroup<AppRequestContext> {
        let routes = router.group()
        // Shedding first: under an overload, a request that will be shed costs nothing more.
        if let shedder { routes.add(middleware: LoadSheddingMiddleware(priority: group.priority, shedder: shedder)) }
        func limit(_ scopes: Set<RateLimit.Scope>) {
            let middleware = RateLimitMiddleware(group, scopes: scopes, limiter: limiter)
            // A middleware without limits would still cost every request a frame.
            if !middleware.limits.isEmpty { routes.add(middleware: middleware) }
        }
        limit([.clientIP, .route])
        guard shopper else { return routes }
        routes.add(middleware: authentication)
        limit([.shopper])
        return routes
    }

    let breakers = dependencies.breakerPolicy.map { policy in
        DependencyBreakers(policy: policy, logger: logger) { dependency, state in
            Gauge(label: "flashsale_circuit_breaker_state", dimensions: [("dependency", dependency)]).record(state.rawValue)
        }
    }
    let sales = SaleRepository(postgres: dependencies.postgres, logger: logger)
    let catalog = SaleCatalog(repository: sales)
    let reservations = StockReservations(redis: dependencies.redis)
    SaleRoutes(catalog: catalog, stock: LiveStock(reservations: reservations, repository: sales, logger: logger))
        .register(on: routes(.browse, shopper: false))

    CheckoutTokenRoutes(
        catalog: catalog, tokens: CheckoutTokens(redis: dependencies.redis), breaker: breakers?.redis, logger: logger
    )
    .register(on: routes(.checkoutTokens))
    let committer = CoalescingOrderCommitter(
        writer: OrderBatchWriter(connections: dependencies.orderWrites ?? dependencies.postgres, logger: logger))
    let account = routes(.account)
    OrderRoutes(
        workflow: PurchaseWorkflow(
            catalog: catalog, reservations: reservations, committer: committer, breakers: breakers, logger: logger),
        orders: OrderRepository(postgres: dependencies.postgres, logger: logger),
        payments: PaymentWorkflow(
            postgres: dependencies.postgres, gateway: dependencies.paymentGateway, settings: dependencies.paymentSettings,
            breaker: breakers?.payments, logger: logger),
        cancellation: OrderCancellation(postgres: dependencies.postgres, reservations: reservations, logger: logger)
    ).register(purchases: routes(.orders), account: account, payments: routes(.payments))
    ShopperOrderRoutes(catalog: catalog, orders: OrderRepository(postgres: dependencies.postgres, logger: logger))
        .register(on: account)
    routeMethods.record(router)
    return router
}

/// The service as `flashsale serve` runs it: migrates PostgreSQL before accepting connections,
/// then serves until SIGINT/SIGTERM, letting in-flight requests finish before the pools close.
/// Each connection is held to `limits`; the shutdown's own bound is the caller's ServiceGroup's.
public func buildApplication(
    configuration: FlashSaleConfiguration, limits: HTTPConnectionLimits = .init(), migrations: [Migration],
    logger: Logger
) async -> some ApplicationProtocol {
    let dependencies = await AppDependencies(configuration: configuration, logger: logger)
    var app = Application(
        router: buildRouter(dependencies: dependencies, logger: logger),
        server: .flashSale(limits: limits),
        configuration: .init(
            address: .hostname(configuration.httpHost, port: configuration.httpPort),
            serverName: "flashsale"),
        services: dependencies.services,
        logger: logger)
    app.beforeServerStarts {
        try await Migrator(client: dependencies.postgres, logger: logger).migrate(migrations)
    }
    return app
}
