import FlashSaleTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("flashsale serve's log lines", .serialized)
struct ServeLoggingTests {
    /// Metadata is formatted only when a line is written (DeferredMetadataLogHandler), and still
    /// appears on it: the request id Hummingbird attaches and the request logger's own fields.
    /// Request lines are debug: the service's log goes through a BackgroundLogStream, flushed at exit.
    @Test func requestLinesCarryTheirMetadata() async throws {
        let log = try await Self.serveLog(level: "debug")
        let line = log.split(separator: "\n").first { $0.contains("/healthz") }
        #expect(line?.contains("hb.request.id=") == true, "\(log)")
        #expect(line?.contains("hb.request.method=GET") == true, "\(log)")
    }

    /// At flash-sale rates a line per request is noise (and costs every request a write).
    @Test func atInfoRequestsAreNotLoggedOneByOne() async throws {
        let log = try await Self.serveLog(level: "info")
        #expect(!log.contains("/healthz"), "\(log)")
        // The service did log at info: the lines that are not per request are there.
        #expect(!log.isEmpty)
    }

    /// What `flashsale serve` wrote to standard error from start to a SIGTERM, at LOG_LEVEL `level`,
    /// with one GET /healthz answered in between.
    static func serveLog(level: String) async throws -> String {
        try await OperatorStores.with { stores -> String in
            let port = freeLocalPort()
            var environment = stores.environment
            environment["JWT_SECRET"] = "log-test-secret-0123456789-0123456789"
            environment["HTTP_PORT"] = "\(port)"
            environment["LOG_LEVEL"] = level
            let (service, _, errors) = try FlashsaleBinary.start(["serve"], environment: environment)
            defer { if service.isRunning { service.terminate() } }
            // Read from the start: a pipe nobody reads would hold back the service's last lines.
            let log = Task.detached { errors.fileHandleForReading.readDataToEndOfFile() }
            _ = try await eventually { try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!) }
            service.terminate()
            while service.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            return String(decoding: await log.value, as: UTF8.self)
        }
    }
}
