import AsyncHTTPClient
import Foundation
import NIOPosix

/// The generator's own ceiling: `GET /healthz` (the service's cheapest route) sent open loop at
/// rising rates, each for `seconds`, until a rate is no longer held. Past that rate the figures
/// of a run measure this machine's generator, not the service.
public struct CalibrationRun: Sendable {
    public var target: String
    public var connections: Int
    public var seconds: Double
    public var startRate: Double
    public var maximumRate: Double

    public init(
        target: String, connections: Int = 256, seconds: Double = 2, startRate: Double = 1000, maximumRate: Double = 256_000
    ) {
        self.target = target
        self.connections = connections
        self.seconds = seconds
        self.startRate = startRate
        self.maximumRate = maximumRate
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Calibration {
        var steps: [Calibration.Step] = []
        var ceiling = 0.0
        var rate = startRate
        // Not counted: a service just started (or idle for a while) answers its first requests
        // slowly while its connections and caches warm up.
        _ = try await measure(rate: startRate / 2, seconds: min(seconds, 1))
        while rate <= maximumRate {
            let step = try await measure(rate: rate, seconds: seconds)
            steps.append(step)
            let held = step.achievedRate >= 0.95 * rate && Double(step.lateSends) <= 0.01 * Double(step.requests)
            progress(
                String(
                    format:
                        "calibration: GET /healthz at %.0f/s: %.0f/s answered, p50 %.2f p99 %.2f ms from the schedule, p50 %.2f p99 %.2f ms from the send, %llu late sends%@",
                    rate, step.achievedRate, step.latency.milliseconds(atPercentile: 50),
                    step.latency.milliseconds(atPercentile: 99),
                    step.answerTime.milliseconds(atPercentile: 50), step.answerTime.milliseconds(atPercentile: 99),
                    step.lateSends, held ? "" : " (not held)"))
            if held {
                ceiling = rate
                rate *= 2
            } else if ceiling == 0 && rate > startRate / 8 {
                // Not even the first rate held (a busy machine): look below it, down to an eighth.
                rate /= 2
            } else {
                break
            }
        }
        return Calibration(ceilingPerSecond: ceiling, steps: steps)
    }

    /// `rate` requests a second for `seconds`, each on its own schedule.
    func measure(rate: Double, seconds: Double) async throws -> Calibration.Step {
        let start = ContinuousClock.now + .milliseconds(50)
        let recorder = RunRecorder(start: start)
        let http = ServiceClient.pooledHTTPClient(connections: connections, timeout: .seconds(10))
        let client = ServiceClient(http: http, recorder: recorder, timeout: .seconds(10))
        let count = Int(rate * seconds)
        let interval = 1 / rate
        await withDiscardingTaskGroup { group in
            for index in 0..<count {
                let due = start + .microseconds(Int64(Double(index) * interval * 1_000_000))
                await SendTicks.wait(until: due, origin: start)
                group.addTask { _ = await client.send(.healthz, .GET, target: target, path: "/healthz", scheduled: due) }
            }
        }
        let elapsed = ContinuousClock.now - start
        try await http.shutdown()
        var report = LoadReport(scenario: "", targets: [], runID: "", saleID: "", seed: 0, shards: [], startedAt: Date())
        recorder.fill(&report)
        var latency = LatencyHistogram()
        var answered: UInt64 = 0
        for result in report.results {
            latency.merge(result.latency)
            if result.answer.status == 200 { answered += result.latency.count }
        }
        return Calibration.Step(
            targetRate: rate, achievedRate: Double(answered) / elapsed.seconds, latency: latency,
            lateSends: report.generator.lateSends, requests: UInt64(count), answerTime: report.generator.answerTime)
    }
}
