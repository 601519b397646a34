import ArgumentParser
import Foundation
import LoadTestKit

struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this generator's own ceiling: GET /healthz open loop at doubling rates until one is not held.",
        discussion: """
            A rate is held when at least 95% of its requests are answered within it and at most 1%
            leave more than 10 ms late. Compare with `wrk -t2 -c<connections> <target>/healthz`.
            """)

    @Option(help: "The service's base URL.")
    var target = "http://127.0.0.1:8080"

    @Option(help: "Connections, at most.")
    var connections = 256

    @Option(help: "Seconds per rate.")
    var seconds = 3.0

    @Option(name: .customLong("start-rate"), help: "The first rate, requests per second.")
    var startRate = 1000.0

    @Option(name: .customLong("max-rate"), help: "Stop after this rate.")
    var maxRate = 256_000.0

    func validate() throws {
        guard connections > 0, seconds > 0, startRate > 0, maxRate >= startRate else {
            throw ValidationError(
                "--connections, --seconds and --start-rate must be positive, and --max-rate at least --start-rate")
        }
    }

    func run() async throws {
        try await failing {
            let base = target.hasSuffix("/") ? String(target.dropLast()) : target
            let calibration = try await CalibrationRun(
                target: base, connections: connections, seconds: seconds, startRate: startRate, maximumRate: maxRate
            ).run(progress: progressLine)
            print("generator ceiling: \(calibration.ceilingText) on GET /healthz (\(connections) connections)")
        }
    }
}
