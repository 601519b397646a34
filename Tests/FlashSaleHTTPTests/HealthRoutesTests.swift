import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import RedisClient
import Testing

@Suite("Health, readiness and metrics over HTTP")
struct HealthRoutesTests {
    static let logger = Logger(label: "test")

    static func application(postgres: DatabaseURL, redis: RedisConfiguration) async -> some ApplicationProtocol {
        let dependencies = AppDependencies(
            postgres: PostgresClient(configuration: postgres.clientConfiguration(maxConnections: 2), backgroundLogger: logger),
            redis: RedisClient(configuration: redis),
            shopperTokens: await ShopperTokens(secret: "0123456789abcdef0123456789abcdef"))
        return Application(
            router: buildRouter(dependencies: dependencies, logger: logger), server: .flashSale(),
            services: dependencies.services,
            logger: logger)
    }

    @Test func healthzAnswers() async throws {
        let server = try await TestRedisServer()
        let app = await Self.application(postgres: try TestDatabase.serverURL, redis: server.configuration)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""status":"ok""#))
            }
        }
    }

    @Test func readyzFollowsRedisDownAndBackUp() async throws {
        let server = try await TestRedisServer()
        let app = await Self.application(postgres: try TestDatabase.serverURL, redis: server.configuration)
        try await app.test(.live) { client in
            // Ready once both probes answer within their deadline (slower while other suites load the machine).
            let ready = try await eventually {
                try await client.execute(uri: "/readyz", method: .get) { response in
                    guard response.status == .ok else { throw NotYet() }
                    return response.status
                }
            }
            #expect(ready == .ok)
            await server.stop()
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = String(buffer: response.body)
                #expect(body.contains(#""redis":"down""#))
                #expect(body.contains(#""postgres":"up""#))
                #expect(body.contains(#""code":"unavailable""#))
            }
            try await server.start()
            // The service is not restarted: the Redis client reconnects on its own.
            let status = try await eventually {
                try await client.execute(uri: "/readyz", method: .get) { response in
                    guard response.status == .ok else { throw NotYet() }
                    return response.status
                }
            }
            #expect(status == .ok)
        }
    }

    @Test func readyzAnswersWhenRedisHangs() async throws {
        let hung = try await SilentServer.start()
        let app = await Self.application(
            postgres: try TestDatabase.serverURL, redis: RedisConfiguration(host: "127.0.0.1", port: hung.port))
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains(#""redis":"down""#))
            }
        }
        try await hung.channel.close()
    }

    @Test func readyzReportsPostgresDown() async throws {
        let server = try await TestRedisServer()
        var unreachable = try TestDatabase.serverURL
        unreachable.port = 1  // nothing listens there
        let app = await Self.application(postgres: unreachable, redis: server.configuration)
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = String(buffer: response.body)
                #expect(body.contains(#""postgres":"down""#))
                #expect(body.contains(#""redis":"up""#))
            }
        }
    }

    @Test func databaseDownIsA503NotA500() async throws {
        let server = try await TestRedisServer()
        var unreachable = try TestDatabase.serverURL
        unreachable.port = 1
        let app = await Self.application(postgres: unreachable, redis: server.configuration)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/sales/any-sale", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains(#""code":"unavailable""#))
            }
        }
    }

    @Test func metricsCountRequestsPerRouteAndStatus() async throws {
        let server = try await TestRedisServer()
        let app = await Self.application(postgres: try TestDatabase.serverURL, redis: server.configuration)
        try await app.test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/no/such/route", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                let healthCount = text.split(separator: "\n").first {
                    $0.hasPrefix("hb_requests{") && $0.contains(#"http_route="/healthz""#)
                        && $0.contains(#"http_response_status_code="200""#)
                }
                #expect(healthCount != nil)
                #expect((healthCount.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0) >= 3)
                #expect(text.contains("http_server_request_duration_bucket{"))
                #expect(text.contains(#"http_response_status_code="404""#))
            }
        }
    }

    @Test func unknownRouteIsAProblem() async throws {
        let server = try await TestRedisServer()
        let app = await Self.application(postgres: try TestDatabase.serverURL, redis: server.configuration)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = try JSONDecoder().decode([String: JSONScalar].self, from: Data(buffer: response.body))
                #expect(body["code"] == .string("not_found"))
                #expect(body["status"] == .number(404))
                #expect(body["title"] != nil && body["type"] != nil && body["detail"] != nil)
            }
        }
    }

    @Test func aKnownPathAskedWithAnotherMethodIs405WithAllow() async throws {
        let server = try await TestRedisServer()
        let app = await Self.application(postgres: try TestDatabase.serverURL, redis: server.configuration)
        try await app.test(.router) { client in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/healthz", .delete, "GET, HEAD"),
                ("/v1/sales/any-sale", .post, "GET, HEAD"),
                ("/v1/sales/any-sale/orders", .put, "GET, HEAD, POST"),
                ("/v1/orders/123/pay", .put, "POST"),
            ]
            for (uri, method, allow) in cases {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(String(buffer: response.body).contains(#""code":"method_not_allowed""#))
                }
            }
            // HEAD is GET without the body.
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
            // A path no route has, or one segment too many, stays 404.
            try await client.execute(uri: "/v1/orders/123/pay/now", method: .post) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/nothing-here", method: .delete) { #expect($0.status == .notFound) }
        }
    }
}

struct NotYet: Error {}

enum JSONScalar: Decodable, Equatable {
    case string(String)
    case number(Double)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .other
        }
    }
}
