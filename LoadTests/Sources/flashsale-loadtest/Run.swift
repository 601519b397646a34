import ArgumentParser
import FlashSale
import FlashSaleHTTP
import Foundation
import LoadTestKit

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario (or, with --sweep, its latency–throughput sweep) and audit the sale.",
        discussion: """
            Example: flashsale-loadtest run LoadTests/Scenarios/sale-day.json --target http://127.0.0.1:8080
            Several --target: the shoppers are spread over them (instances without a load balancer).
            From several load machines: the same --run-id, --start-at and --seed on each, with
            --shard 1/3, 2/3, 3/3; then `flashsale-loadtest merge` their report.json files.
            """)

    @Argument(help: "The scenario file (JSON), for example LoadTests/Scenarios/smoke.json.")
    var scenario: String

    @Option(help: "The service's base URL; repeat for several instances.")
    var target: [String] = ["http://127.0.0.1:8080"]

    @Option(help: "Peak arrivals per second (scales the number of shoppers; the phases keep their shape).")
    var rate: Double?

    @Option(help: "Seconds of the whole arrival schedule (every phase stretched alike).")
    var duration: Double?

    @Option(help: "Multiplies shoppers, bot identities and stock.")
    var scale: Double?

    @Option(help: "Seed of the behaviour mix: the same seed, the same shoppers doing the same things. Default: random.")
    var seed: UInt64?

    @Option(help: "This machine's part of the population, i/N (for example 2/3).")
    var shard = "1/1"

    @Option(
        name: .customLong("run-id"),
        help: "Names the run's sale (<scenario sale>-<run id>); shards of one run share it. Default: random.")
    var runID: String?

    @Option(
        name: .customLong("start-at"), help: "When the schedule starts, ISO 8601 (shards share it). Default: 3 s after seeding.")
    var startAt: String?

    @Option(help: "Connections per target, at most.")
    var connections = 256

    @Option(help: "Seconds before a request without an answer counts as lost.")
    var timeout = 30

    @Option(help: "Folder for report.json and report.html. Default: .local/loadtest/<run id>.")
    var out: String?

    @Flag(help: "Measure the latency–throughput sweep of the purchase path instead of the scenario's phases.")
    var sweep = false

    @Option(name: .customLong("sweep-seconds"), help: "Seconds per sweep step.")
    var sweepSeconds = 5.0

    @Option(
        name: .customLong("sweep-probe-rate"),
        help: "Arrivals per second of the probe that finds the maximum (well above what the service can do).")
    var sweepProbeRate = 1000.0

    @Option(
        name: .customLong("sweep-maximum"),
        help:
            "Order answers per second to take as the maximum instead of probing for it: runs compared with each other (load shedding on and off) then share one."
    )
    var sweepMaximum: Double?

    @Option(
        name: .customLong("sweep-fractions"),
        help:
            "Comma-separated fractions of the maximum to measure, e.g. 0.5,2 for half load and twice the maximum. (default: 0.05,0.1,0.25,0.4,0.55,0.7,0.85,1,1.1,1.2)"
    )
    var sweepFractions: String?

    @Option(
        name: .customLong("calibration-seconds"), help: "Seconds per calibration step on GET /healthz before the run; 0 skips it."
    )
    var calibrationSeconds = 1.0

    @Flag(name: .customLong("no-audit"), help: "Skip the audit of the stores after the run.")
    var noAudit = false

    @OptionGroup var stores: StoreOptions

    func validate() throws {
        guard parsedShard != nil else { throw ValidationError("--shard '\(shard)' is not i/N with 1 ≤ i ≤ N") }
        guard connections > 0 else { throw ValidationError("--connections must be positive") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard startAt.map({ ISO8601DateFormatter().date(from: $0) != nil }) ?? true else {
            throw ValidationError("--start-at '\(startAt ?? "")' is not an ISO 8601 time such as 2026-12-03T12:00:00Z")
        }
        for url in target {
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
                throw ValidationError("--target '\(url)' is not an http(s) URL")
            }
        }
        guard sweepSeconds > 0, sweepProbeRate > 0, (sweepMaximum ?? 1) > 0 else {
            throw ValidationError("--sweep-seconds, --sweep-probe-rate and --sweep-maximum must be positive")
        }
        _ = try fractions()
    }

    var parsedShard: (Int, Int)? {
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else { return nil }
        return (parts[0], parts[1])
    }

    func run() async throws {
        try await failing {
            let scenario = try Scenario.load(self.scenario).overridden(scale: scale, duration: duration, peakRate: rate)
            let configuration = try stores.configuration(requireSecret: true)
            let (shardIndex, shards) = parsedShard ?? (1, 1)
            let runID = runID ?? String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            let options = LoadRun.Options(
                targets: target.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }, connections: connections,
                timeout: .seconds(Int64(timeout)), seed: seed ?? UInt64.random(in: 0..<UInt64.max), runID: runID,
                shard: shardIndex, shards: shards)
            for base in options.targets { try await TargetCheck.healthz(base) }
            let jwts = await ShopperJWTs(secret: configuration.jwtSecret, policy: TokenPolicy(configuration))
            let folder = URL(fileURLWithPath: out ?? ".local/loadtest/\(runID)")
            let report = try await stores.withStores(configuration) { stores in
                var report = try await self.measure(scenario, options: options, jwts: jwts, stores: stores)
                if !noAudit && !sweep {
                    progressLine("audit: reading PostgreSQL and Redis…")
                    let shoppers =
                        shards > 1
                        ? Set(
                            ArrivalPlan(scenario, runID: runID, seed: options.seed, shard: shardIndex, of: shards).arrivals.map(
                                \.shopperID))
                        : nil
                    report.audit = try await SaleAudit(stores: stores).run(
                        saleID: report.saleID,
                        answers: .init(created: report.createdOrders, lost: report.lostAnswers, shoppers: shoppers),
                        settle: .seconds(Int64(scenario.settleSeconds)), progress: progressLine)
                }
                return report
            }
            let files = try ReportFiles.write(report, to: folder)
            print(TerminalSummary.render(report))
            print("report: \(files.json.path)\n        \(files.html.path)")
            if let audit = report.audit, !audit.passed { throw ExitCode(1) }
        }
    }

    /// `--sweep-fractions`, or the default series.
    func fractions() throws -> [Double] {
        guard let sweepFractions else { return SweepRun.defaultFractions }
        let values = sweepFractions.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 20 }) else {
            throw ValidationError("--sweep-fractions '\(sweepFractions)' must be numbers above 0 and at most 20, comma-separated")
        }
        return values.compactMap { $0 }
    }

    /// Calibration, then the scenario or the sweep.
    func measure(_ scenario: Scenario, options: LoadRun.Options, jwts: ShopperJWTs, stores: AuditStores) async throws
        -> LoadReport
    {
        var calibration: Calibration?
        if calibrationSeconds > 0 {
            calibration = try await CalibrationRun(
                target: options.targets[0], connections: connections, seconds: calibrationSeconds
            )
            .run(progress: progressLine)
        }
        if sweep {
            let step = SweepRun(
                scenario: scenario, options: options, jwts: jwts, seconds: sweepSeconds, fractions: try fractions())
            let saleID = try await ScenarioSale.seed(
                step.stepScenario(rate: 1), runID: options.runID + "-sweep", runStartsAt: Date(), stores: stores)
            if sweepMaximum == nil {
                progressLine("sweep: sale \(saleID) seeded; finding the maximum with \(sweepProbeRate) shoppers/s…")
            }
            var report = LoadReport(
                scenario: scenario.name + " (sweep)", targets: options.targets, runID: options.runID, saleID: saleID,
                seed: options.seed, shards: ["\(options.shard)/\(options.shards)"], startedAt: Date())
            report.sweep = try await step.run(
                saleID: saleID, probeRate: sweepProbeRate, known: sweepMaximum, progress: progressLine)
            report.calibration = calibration
            return report
        }
        let startsAt = startAt.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date().addingTimeInterval(3)
        let saleID = try await ScenarioSale.seed(scenario, runID: options.runID, runStartsAt: startsAt, stores: stores)
        progressLine(
            "run \(options.runID): sale \(saleID) seeded; \(scenario.shoppers) arrivals over \(Int(scenario.seconds)) s (shard \(options.shard)/\(options.shards)), seed \(options.seed)"
        )
        var report = try await LoadRun(scenario: scenario, options: options, jwts: jwts).run(
            saleID: saleID, startsAt: startsAt, stores: stores, progress: progressLine)
        report.calibration = calibration
        return report
    }
}
