import Foundation

/// Runs the `flashsale` executable built next to the test bundle, as an operator would.
enum FlashsaleBinary {
    static var url: URL { url(of: "flashsale") }

    /// An executable of the package, built next to the test bundle.
    static func url(of executable: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(executable)
    }

    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    /// Starts the binary with `environment` added to a minimal one (no settings leak in from the caller).
    static func start(
        _ arguments: [String], environment: [String: String] = [:], output: FileHandle? = nil, executable: String = "flashsale"
    ) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = url(of: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "warning"].merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = output ?? out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], executable: String = "flashsale") async throws
        -> Outcome
    {
        let (process, out, err) = try start(arguments, environment: environment, executable: executable)
        // Foundation's waitUntilExit can block forever inside Swift concurrency; poll instead.
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return Outcome(
            status: process.terminationStatus,
            output: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            errors: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
