import Foundation
import Logging
import ServiceLifecycle

/// Ends the process if a shutdown overruns its bound. The service group cancels whatever still
/// runs `timeout` after SIGTERM, which cuts the HTTP connections and closes the pools; this is for
/// anything that ignores cancellation (an await with no deadline), so an orchestrator never has to
/// SIGKILL the service. Whatever it interrupts settles as after a crash.
struct ShutdownBackstop: Service {
    /// What cancelling and closing may take after the bound before the process is ended regardless.
    static let cutAllowance = Duration.seconds(1)

    let timeout: Duration
    let logger: Logger

    func run() async throws {
        // Thrown on cancellation: the group is ending for another reason, with no bound to keep.
        guard (try? await gracefulShutdown()) != nil else { return }
        let logger = logger
        let timeout = timeout
        // A thread of its own: it must fire even when every task and event loop is stuck.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Self.seconds(timeout))
            logger.warning(
                "shutdown: requests still in progress after SHUTDOWN_TIMEOUT (\(timeout.components.seconds)s) are being cut")
            Thread.sleep(forTimeInterval: Self.seconds(Self.cutAllowance))
            // Straight to stderr: the log stream's own thread may be among the stuck.
            FileHandle.standardError.write(
                Data("flashsale: shutdown still not finished \(Self.cutAllowance) after SHUTDOWN_TIMEOUT; exiting\n".utf8))
            exit(1)
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
