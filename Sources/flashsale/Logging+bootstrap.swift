import FlashSale
import Foundation
import Logging

enum AppLogger {
    /// A logger at LOG_LEVEL (trace, debug, info, notice, warning, error, critical; default info).
    /// With `output`, lines go through it and logging never blocks (the service logs from its event
    /// loops); without, they are written to standard error at once (the one-shot commands).
    static func make(_ label: String, output: BackgroundLogStream? = nil) throws -> Logger {
        var logger = Logger(label: label) { DeferredMetadataLogHandler(label: $0, output: output) }
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        guard let parsed = Logger.Level(rawValue: level) else {
            throw CommandFailure(
                "configuration error: LOG_LEVEL: '\(level)' is not one of trace, debug, info, notice, warning, error, critical",
                exitCode: 2)
        }
        logger.logLevel = parsed
        return logger
    }

    /// Runs a long-lived process (`serve`, `worker`) logging through a ``BackgroundLogStream``,
    /// once PostgreSQL answered; whatever it logged is out before it reports a failure or exits.
    static func runningService(
        _ label: String, database: DatabaseURL, _ body: (Logger) async throws -> Void
    ) async throws {
        let output = BackgroundLogStream()
        let logger = try make(label, output: output)
        do {
            try await DatabaseProbe.check(database, logger: logger)
            try await body(logger)
        } catch {
            await output.flush()
            throw error
        }
        await output.flush()
    }
}
