import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("The flashsale executable")
struct CommandLineTests {
    @Test func migrateTwiceIsANoOpTheSecondTime() async throws {
        try await TestDatabase.withFreshDatabase { url, _ in
            let databaseURL = "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
            let first = try await FlashsaleBinary.run(["migrate", "--database-url", databaseURL])
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.output.contains("Applied 1_initial_schema"))
            let second = try await FlashsaleBinary.run(["migrate"], environment: ["DATABASE_URL": databaseURL])
            #expect(second.status == 0, "\(second.errors)")
            #expect(second.output.contains("up to date"))
            #expect(!second.output.contains("Applied"))
        }
    }

    @Test(arguments: [
        (["HTTP_PORT": "abc"], "HTTP_PORT"),
        (["JWT_SECRET": ""], "JWT_SECRET"),
        (["REDIS_URL": "localhost:6379"], "REDIS_URL"),
        (["DB_MAX_CONNECTIONS": "-1"], "DB_MAX_CONNECTIONS"),
        (["DATABASE_URL": "postgres://flashsale@127.0.0.1:1/flashsale"], "DATABASE_URL"),
        (["LOG_LEVEL": "loud"], "LOG_LEVEL"),
    ])
    func badConfigurationStopsServeWithOneLine(_ environment: [String: String], _ setting: String) async throws {
        var full = ["JWT_SECRET": "0123456789abcdef0123456789abcdef"]
        full.merge(environment) { $1 }
        let outcome = try await FlashsaleBinary.run(["serve"], environment: full)
        #expect(outcome.status == 2)
        let lines = outcome.errors.split(separator: "\n")
        #expect(lines.count == 1, "\(outcome.errors)")
        #expect(lines.first?.hasPrefix("flashsale: configuration error: \(setting):") == true, "\(outcome.errors)")
    }

    @Test func aFlagOverridesTheEnvironment() async throws {
        let outcome = try await FlashsaleBinary.run(
            ["serve", "--port", "not-a-port"],
            environment: ["JWT_SECRET": "0123456789abcdef0123456789abcdef", "HTTP_PORT": "8080"])
        #expect(outcome.status == 2)
        #expect(outcome.errors.contains("'not-a-port'"))
    }

    @Test func tokenPrintsAJWTForTheShopper() async throws {
        let secret = "0123456789abcdef0123456789abcdef"
        let outcome = try await FlashsaleBinary.run(
            ["token", "--shopper", "alice", "--ttl", "30m"], environment: ["JWT_SECRET": secret])
        #expect(outcome.status == 0, "\(outcome.errors)")
        let token = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(await ShopperTokens(secret: secret).shopperID(from: token) == "alice")
        #expect(await ShopperTokens(secret: "another-secret-another-secret-ab").shopperID(from: token) == nil)

        let several = try await FlashsaleBinary.run(
            ["token", "--shopper", "bob", "--shopper", "carol"], environment: ["JWT_SECRET": secret])
        #expect(several.status == 0, "\(several.errors)")
        var shoppers: [String?] = []
        for line in several.output.split(separator: "\n") {
            shoppers.append(await ShopperTokens(secret: secret).shopperID(from: String(line)))
        }
        #expect(shoppers == ["bob", "carol"])

        let badTTL = try await FlashsaleBinary.run(
            ["token", "--shopper", "a", "--ttl", "soon"], environment: ["JWT_SECRET": secret])
        #expect(badTTL.status != 0)
        #expect(badTTL.errors.contains("--ttl"))
        let noSecret = try await FlashsaleBinary.run(["token", "--shopper", "a"])
        #expect(noSecret.status == 2)
        #expect(noSecret.errors.contains("JWT_SECRET"))
    }

    @Test func servesThenStopsGracefullyOnSIGTERM() async throws {
        let port = freeLocalPort()
        let environment = [
            "JWT_SECRET": "0123456789abcdef0123456789abcdef", "HTTP_PORT": "\(port)",
            "DATABASE_URL": TestDatabase.serverURLText,
            "REDIS_URL": ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:56379/1",
        ]
        let (process, _, _) = try FlashsaleBinary.start(["serve"], environment: environment)
        defer { if process.isRunning { process.terminate() } }
        let url = URL(string: "http://127.0.0.1:\(port)/readyz")!
        let (body, response) = try await eventually { try await URLSession.shared.data(from: url) }
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains(#""status":"ready""#))

        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<500 where process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}
