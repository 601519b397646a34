import Foundation
import RedisClient

/// A private redis-server for one test, on its own port, that the test may stop and restart.
/// Tests that break the server must not share it with others.
public final class TestRedisServer: @unchecked Sendable {
    public private(set) var port: Int = 0
    private let extraArguments: [String]
    private var process: Process?

    static var executable: String {
        if let configured = ProcessInfo.processInfo.environment["FLASHSALE_REDIS_SERVER"], !configured.isEmpty {
            return configured
        }
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let path = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "redis-server"
    }

    public init(extraArguments: [String] = []) async throws {
        self.extraArguments = extraArguments
        var lastError: (any Error)?
        for _ in 0..<20 {
            // Below the kernel's ephemeral range (32768 up): there, an outgoing connection may hold
            // the port, and a connect to it can meet itself, passing the readiness check for a
            // server that never bound (seen once: the next connect was refused).
            let candidate = Int.random(in: 20_000..<32_000)
            do {
                port = candidate
                try await launch()
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestServerError.couldNotStart("no free port")
    }

    public var configuration: RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: port)
    }

    public func start() async throws {
        try await launch()
    }

    /// Kills the server, as a crash would: open connections are reset.
    /// (Foundation's `waitUntilExit` can block forever inside Swift concurrency, so this polls.)
    public func stop() async {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(5))
        }
        self.process = nil
    }

    private func launch() async throws {
        // Something else on the port would answer our readiness check in our server's place.
        guard !canConnect() else { throw TestServerError.couldNotStart("port \(port) is taken") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments =
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--loglevel", "warning",
            ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it answers; a port clash shows up as the process exiting.
        for _ in 0..<200 {
            if !process.isRunning { throw TestServerError.couldNotStart("redis-server exited on port \(port)") }
            if canConnect() {
                self.process = process
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.terminate()
        throw TestServerError.couldNotStart("redis-server did not answer on port \(port)")
    }

    private func canConnect() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    deinit {
        if let process { kill(process.processIdentifier, SIGKILL) }
    }
}

public enum TestServerError: Error {
    case couldNotStart(String)
}

/// Runs `body` with a Redis client of its own, closed afterwards whatever happens.
@discardableResult
public func withClient<T>(
    _ configuration: RedisConfiguration, _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = RedisClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}
