import FlashSale
import Hummingbird
import Logging
import PostgresNIO
import RedisClient

/// The long-lived clients an application serves with. Whoever runs the application runs them as services.
public struct AppDependencies: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient

    public init(postgres: PostgresClient, redis: RedisClient) {
        self.postgres = postgres
        self.redis = redis
    }

    public init(configuration: FlashSaleConfiguration, logger: Logger) {
        postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(
                maxConnections: configuration.databaseMaxConnections),
            backgroundLogger: logger.poolLogger)
        redis = RedisClient(configuration: configuration.redis)
    }
}

/// Every route of the service, behind the middleware every request passes through.
public func buildRouter(dependencies: AppDependencies, logger: Logger) -> Router<AppRequestContext> {
    _ = PrometheusMetrics.registry
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        LogRequestsMiddleware(.info)
        MetricsMiddleware()
        ProblemMiddleware()
    }
    HealthRoutes(readiness: ReadinessCheck(postgres: dependencies.postgres, redis: dependencies.redis, logger: logger))
        .register(on: router)
    PrometheusMetrics.register(on: router)
    return router
}

/// The service as `flashsale serve` runs it: migrates PostgreSQL before accepting connections,
/// then serves until SIGINT/SIGTERM, letting in-flight requests finish before the pools close.
public func buildApplication(
    configuration: FlashSaleConfiguration, migrations: [Migration], logger: Logger
) -> some ApplicationProtocol {
    let dependencies = AppDependencies(configuration: configuration, logger: logger)
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
