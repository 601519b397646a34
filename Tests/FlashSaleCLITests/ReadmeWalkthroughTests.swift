import FlashSaleTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The README's walkthrough runs as written, against what `make run` starts: the service on a
/// migrated database with the demo sale seeded (`flashsale seed --demo`, as the Makefile does).
@Suite("The README walkthrough")
struct ReadmeWalkthroughTests {
    static let marker = "<!-- walkthrough: run by Tests/FlashSaleCLITests/ReadmeWalkthroughTests.swift -->"
    static let addressLine = "FS=.build/release/flashsale; API=http://localhost:8080"

    static var readme: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        }
    }

    /// The first shell block after the marker.
    static func walkthrough() throws -> String {
        let text = try readme
        guard let marker = text.range(of: Self.marker),
            let open = text.range(of: "```sh\n", range: marker.upperBound..<text.endIndex),
            let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex)
        else { throw WalkthroughError.missing }
        return String(text[open.upperBound..<close.lowerBound])
    }

    enum WalkthroughError: Error { case missing }

    @Test func theMakefileSeedsTheDemoSaleTheWalkthroughUses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let makefile = try String(contentsOf: root.appendingPathComponent("Makefile"), encoding: .utf8)
        #expect(makefile.contains("flashsale seed --demo"))
        let script = try Self.walkthrough()
        #expect(script.contains(Self.addressLine))
        #expect(script.contains("/v1/sales/demo/"))
    }

    @Test func runsAsWrittenAgainstADemoSale() async throws {
        try await OperatorStores.with { stores in
            let secret = "dev-only-secret-change-me-in-production"
            let seeded = try await stores.flashsale(["seed", "--demo"])
            #expect(seeded.status == 0, "\(seeded.errors)")
            let port = freeLocalPort()
            var environment = stores.environment
            environment["JWT_SECRET"] = secret
            environment["HTTP_PORT"] = "\(port)"
            let (service, _, _) = try FlashsaleBinary.start(["serve"], environment: environment)
            defer { if service.isRunning { service.terminate() } }
            _ = try await eventually { try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!) }

            let script = try Self.walkthrough().replacingOccurrences(
                of: Self.addressLine, with: "FS='\(FlashsaleBinary.url.path)'; API=http://127.0.0.1:\(port)")
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/bash")
            shell.arguments = ["-euo", "pipefail", "-c", script]
            shell.environment = ["PATH": "/usr/bin:/bin"].merging(stores.environment) { $1 }
            let output = Pipe()
            let errors = Pipe()
            shell.standardOutput = output
            shell.standardError = errors
            try shell.run()
            while shell.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(shell.terminationStatus == 0, "\(printed)\n\(complaints)")
            #expect(printed.contains(#""status":"paid""#), "\(printed)")
            #expect(printed.contains(#""sale_id":"demo""#), "\(printed)")
            let paid = try await stores.postgres.query(
                "SELECT count(*) FROM orders WHERE sale_id = 'demo' AND status = 'paid'", logger: TestDatabase.logger
            ).decode(Int64.self).collectAll()
            #expect(paid == [1])
        }
    }
}
