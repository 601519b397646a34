import Foundation

/// The latency–throughput curve of the purchase path: the scenario's buyers (bots and refreshers
/// left out) arriving at a constant rate, step after step, at fractions of the highest rate found
/// first, so the knee where latency takes off is visible. Each step has shoppers of its own. A
/// step's achieved rate is its order answers per second from its second second to its last
/// scheduled one; each arrival sends one order (a double submit two).
public struct SweepRun: Sendable {
    public static let defaultFractions = [0.05, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.1, 1.2]

    let scenario: Scenario
    let options: LoadRun.Options
    let jwts: ShopperJWTs
    let seconds: Double
    let fractions: [Double]

    public init(
        scenario: Scenario, options: LoadRun.Options, jwts: ShopperJWTs, seconds: Double, fractions: [Double] = defaultFractions
    ) {
        self.scenario = scenario
        self.options = options
        self.jwts = jwts
        self.seconds = seconds
        self.fractions = fractions
    }

    /// The scenario as one constant-rate phase of `rate` arrivals a second, open from the start,
    /// with stock that does not run out (a sold-out SKU answers from a shorter path).
    public func stepScenario(rate: Double) -> Scenario {
        var step = scenario
        step.phases = [Scenario.Phase(name: "sweep", seconds: seconds, share: 1, rampSeconds: nil, saleOpens: true)]
        step.shoppers = max(1, Int((rate * seconds).rounded()))
        // Purchases only: bots' bursts and the refreshers' four seconds of reads before they buy
        // would blur which rate the order answers belong to.
        step.behaviours = scenario.behaviours.filter { $0.behaviour != .bot && $0.behaviour != .refresh }
        if step.behaviours.isEmpty { step.behaviours = [.init(behaviour: .buyOnce, share: 1)] }
        for index in step.sale.items.indices { step.sale.items[index].stock = 50_000_000 }
        return step
    }

    /// Finds the highest rate first (a step at `probeRate`, whose order answers per second are what
    /// the service can do), unless it is `known`, then measures each fraction of it.
    public func run(
        saleID: String, probeRate: Double, known: Double? = nil, progress: @escaping @Sendable (String) -> Void
    ) async throws -> [SweepPoint] {
        let maximum: Double
        if let known {
            maximum = known
            progress(String(format: "sweep: the maximum given, %.0f orders/s", maximum))
        } else {
            maximum = try await step(saleID: saleID, rate: probeRate, index: 0, progress: progress).achievedRate
            progress(String(format: "sweep: probe at %.0f shoppers/s answered %.0f orders/s; the maximum", probeRate, maximum))
        }
        var points: [SweepPoint] = []
        for (index, fraction) in fractions.enumerated() {
            let point = try await step(saleID: saleID, rate: maximum * fraction, index: index + 1, progress: progress)
            progress(
                String(
                    format: "sweep: %3.0f%% of the maximum, %.0f shoppers/s: %.0f orders/s, p50 %.2f p99 %.2f p99.9 %.2f ms",
                    fraction * 100, point.targetRate, point.achievedRate, point.latency.milliseconds(atPercentile: 50),
                    point.latency.milliseconds(atPercentile: 99), point.latency.milliseconds(atPercentile: 99.9)))
            points.append(point)
        }
        return points
    }

    func step(saleID: String, rate: Double, index: Int, progress: @escaping @Sendable (String) -> Void) async throws -> SweepPoint
    {
        var stepOptions = options
        stepOptions.runID = "\(options.runID)-w\(index)"
        let run = LoadRun(scenario: stepScenario(rate: rate), options: stepOptions, jwts: jwts)
        let (report, recorder) = try await run.recorded(
            saleID: saleID, startsAt: Date().addingTimeInterval(0.2), stores: nil, progress: { _ in })
        var latency = LatencyHistogram()
        var statuses: [String: UInt64] = [:]
        for result in report.results where result.endpoint == .order {
            latency.merge(result.latency)
            statuses[result.answer.description, default: 0] += result.latency.count
        }
        return SweepPoint(
            targetRate: rate, achievedRate: recorder.answerRate(.order, window: 1..<max(2, Int(seconds))), latency: latency,
            statuses: statuses, lateSends: report.generator.lateSends)
    }
}
