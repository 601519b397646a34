import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Logging
import PostgresNIO
import RedisClient
import Testing

@Suite("openapi.yaml documents the API as served")
struct OpenAPIContractTests {
    /// "METHOD /path/{param}" for every operation under `paths:` (the file's own two-space layout).
    static func documentedOperations() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../openapi.yaml").standardized
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var operations = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in lines {
            if line.hasPrefix("paths:") {
                inPaths = true
                continue
            }
            if inPaths, let first = line.first, first != " ", first != "#" { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let path = currentPath, line.hasPrefix("    "), !line.hasPrefix("     "),
                let method = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" })
            {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let documented = try Self.documentedOperations()
        #expect(documented.count >= 10)
        let logger = Logger(label: "test")
        let router = buildRouter(
            dependencies: AppDependencies(
                postgres: PostgresClient(
                    configuration: try TestDatabase.serverURL.clientConfiguration(maxConnections: 1),
                    backgroundLogger: logger),
                redis: RedisClient(configuration: RedisConfiguration()),
                shopperTokens: await ShopperTokens(secret: "0123456789abcdef0123456789abcdef")),
            logger: logger)
        let served = Set(
            router.routes.map { route in
                let path = "\(route.path)".split(separator: "/").map { segment in
                    segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                }
                return "\(route.method) /" + path.joined(separator: "/")
            })
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented))")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served))")
    }
}
