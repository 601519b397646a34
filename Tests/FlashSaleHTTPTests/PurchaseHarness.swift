import AsyncHTTPClient
import CircuitBreaking
import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgresNIO
import RedisClient

/// A running service on a fresh database and a private redis-server, with a sale seeded, and a real
/// HTTP client with many connections, so concurrency tests are concurrent all the way to the stores.
struct PurchaseHarness: Sendable {
    static let secret = "test-secret-0123456789-0123456789"
    static let logger = Logger(label: "test")

    let baseURL: String
    /// Every instance's, the first being `baseURL`: all serve from the same stores.
    let baseURLs: [String]
    let http: HTTPClient
    let tokens: ShopperTokens
    let postgres: PostgresClient
    let redis: RedisClient
    let redisServer: TestRedisServer
    let sale: TestSale

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var code: String? {
            (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["code"] as? String
        }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    }

    static func run(
        _ sale: TestSale, startsInHours: Double = -1, limits: HTTPConnectionLimits = .init(),
        gateway: any PaymentGateway = SandboxPaymentGateway(), rateLimits: RateLimitPolicy = .off,
        trustedProxies: TrustedProxies = .none, rateLimitAllowList: IPRanges = .none,
        loadShedding: AdaptiveConcurrencyLimit.Settings? = nil, breakerPolicy: CircuitBreaker.Policy? = nil,
        instances: Int = 1,
        _ body: @escaping @Sendable (PurchaseHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: logger).migrate(try TestDatabase.migrations)
            let redisServer = try await TestRedisServer()
            let redis = RedisClient(configuration: redisServer.configuration)
            try await sale.create(postgres: postgres, redis: redis, startsInHours: startsInHours)
            let tokens = await ShopperTokens(secret: secret)
            let orderWrites = OrderWriteConnections(
                database: url, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            let dependencies = AppDependencies(
                postgres: postgres, redis: redis, shopperTokens: tokens, paymentGateway: gateway, orderWrites: orderWrites,
                rateLimits: rateLimits, trustedProxies: trustedProxies, rateLimitAllowList: rateLimitAllowList,
                loadShedding: loadShedding, breakerPolicy: breakerPolicy)
            // The service's own server and group-commit connections, as `flashsale serve` runs them.
            let app = Application(
                router: buildRouter(dependencies: dependencies, logger: logger), server: .flashSale(limits: limits),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                services: [redis, orderWrites], logger: logger)
            // More instances beside it, each with its own router (and so its own in-process state).
            @Sendable func serving(more: Int, ports: [Int]) async throws {
                guard more > 0 else { return try await withHarness(ports) }
                let other = Application(
                    router: buildRouter(dependencies: dependencies, logger: logger), server: .flashSale(limits: limits),
                    configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                try await other.test(.live) { client in try await serving(more: more - 1, ports: ports + [client.port!]) }
            }
            @Sendable func withHarness(_ ports: [Int]) async throws {
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool = .init(
                    idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                let urls = ports.map { "http://127.0.0.1:\($0)" }
                let harness = PurchaseHarness(
                    baseURL: urls[0], baseURLs: urls, http: http, tokens: tokens, postgres: postgres,
                    redis: redis, redisServer: redisServer, sale: sale)
                do {
                    try await body(harness)
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                try await http.shutdown()
            }
            try await app.test(.live) { client in
                try await serving(more: instances - 1, ports: [client.port!])
            }
        }
    }

    /// A shopper token whose `email` claim is `<shopper>@example.com`, as a real sign-in would carry.
    func bearer(_ shopper: String) async throws -> String {
        try await tokens.issue(shopperID: shopper, email: "\(shopper)@example.com", lifetime: .seconds(3600))
    }

    func request(
        _ method: HTTPMethod, _ path: String, shopper: String? = nil, headers: [(String, String)] = [],
        body: String? = nil, instance: Int = 0
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURLs[instance] + path)
        request.method = method
        if let shopper { request.headers.add(name: "Authorization", value: "Bearer \(try await bearer(shopper))") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !request.headers.contains(name: "Content-Type") {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: bytes))
    }

    func checkoutToken(for shopper: String) async throws -> String {
        let reply = try await request(.POST, "/v1/sales/\(sale.id)/checkout-tokens", shopper: shopper)
        guard reply.status == 201, let token = reply.json["token"] as? String else {
            throw HarnessError.unexpected("checkout token: \(reply.status) \(reply.text)")
        }
        return token
    }

    func order(shopper: String, token: String, sku: String? = nil, quantity: Int64 = 1) async throws -> Reply {
        try await request(
            .POST, "/v1/sales/\(sale.id)/orders", shopper: shopper, headers: [("Idempotency-Key", token)],
            body: #"{"sku":"\#(sku ?? sale.sku)","quantity":\#(quantity)}"#)
    }

    /// Stock of record and the sum of live orders, for invariant 1.
    func postgresStock() async throws -> (available: Int64, ordered: Int64, orders: Int) {
        let available = try await postgres.query(
            "SELECT available::bigint FROM inventory WHERE sale_id = \(sale.id) AND sku = \(sale.sku)",
            logger: Self.logger
        ).decode(Int64.self).collectAll()[0]
        let (ordered, count) = try await postgres.query(
            """
            SELECT coalesce(sum(quantity), 0)::bigint, count(*)::bigint FROM orders
            WHERE sale_id = \(sale.id) AND sku = \(sale.sku) AND status NOT IN ('cancelled', 'expired')
            """, logger: Self.logger
        ).decode((Int64, Int64).self).collectAll()[0]
        return (available, ordered, Int(count))
    }

    func redisStock() async throws -> Int64? {
        try await redis.send("GET", .string(RedisKeys(saleID: sale.id).stock(sale.sku))).integer
    }
}

enum HarnessError: Error {
    case unexpected(String)
}
