import FlashSale
import Hummingbird
import Logging
import PostgresNIO
import RedisClient

/// The worker's own HTTP port: `/metrics` (Prometheus text), `/healthz` and `/readyz`, nothing else.
public func buildMetricsApplication(
    host: String, port: Int, postgres: PostgresClient, redis: RedisClient, logger: Logger
) -> some ApplicationProtocol {
    _ = PrometheusMetrics.registry
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    let routeMethods = RouteMethods()
    router.addMiddleware { ProblemMiddleware(routeMethods: routeMethods) }
    HealthRoutes(readiness: ReadinessCheck(postgres: postgres, redis: redis, logger: logger)).register(on: router)
    PrometheusMetrics.register(on: router)
    routeMethods.record(router)
    return Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: "flashsale-worker"),
        logger: logger)
}
