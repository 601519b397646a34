import AsyncHTTPClient
import FlashSale
import Foundation
import NIOCore
import NIOPosix
import RedisClient
import Synchronization

/// Drives one scenario against the service: every arrival starts on its schedule (open loop),
/// the stock is sampled once a second, and a progress line is printed once a second.
public struct LoadRun: Sendable {
    public struct Options: Sendable {
        public var targets: [String]
        /// Connections to each target, at most (the pool queues requests beyond them, and their
        /// wait counts in their latency).
        public var connections: Int
        public var timeout: TimeAmount
        public var seed: UInt64
        public var runID: String
        public var shard: Int
        public var shards: Int

        public init(
            targets: [String], connections: Int = 256, timeout: TimeAmount = .seconds(30), seed: UInt64, runID: String,
            shard: Int = 1, shards: Int = 1
        ) {
            self.targets = targets
            self.connections = connections
            self.timeout = timeout
            self.seed = seed
            self.runID = runID
            self.shard = shard
            self.shards = shards
        }
    }

    let scenario: Scenario
    let options: Options
    let jwts: ShopperJWTs

    public init(scenario: Scenario, options: Options, jwts: ShopperJWTs) {
        self.scenario = scenario
        self.options = options
        self.jwts = jwts
    }

    /// Runs the arrivals of this shard, starting at `startsAt` (wall clock, so shards on other
    /// machines agree), against the sale `saleID`; `stores` are sampled for the stock over time.
    public func run(
        saleID: String, startsAt: Date, stores: AuditStores?, progress: @escaping @Sendable (String) -> Void
    ) async throws -> LoadReport {
        try await recorded(saleID: saleID, startsAt: startsAt, stores: stores, progress: progress).report
    }

    func recorded(
        saleID: String, startsAt: Date, stores: AuditStores?, progress: @escaping @Sendable (String) -> Void
    ) async throws -> (report: LoadReport, recorder: RunRecorder) {
        let plan = ArrivalPlan(scenario, runID: options.runID, seed: options.seed, shard: options.shard, of: options.shards)
        let start = ContinuousClock.now + .milliseconds(Int64(startsAt.timeIntervalSinceNow * 1000))
        let opens = start + .milliseconds(Int64(scenario.saleOpensAfter * 1000))
        let recorder = RunRecorder(start: start)
        let http = ServiceClient.pooledHTTPClient(connections: options.connections, timeout: options.timeout)
        var report = LoadReport(
            scenario: scenario.name, targets: options.targets, runID: options.runID, saleID: saleID, seed: options.seed,
            shards: ["\(options.shard)/\(options.shards)"], startedAt: startsAt)
        let client = ServiceClient(http: http, recorder: recorder, timeout: options.timeout)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Self.watch(
                    saleID: saleID, skus: scenario.sale.items.map(\.sku), stores: stores, recorder: recorder, start: start,
                    planned: plan.arrivals.count, progress: progress)
            }
            group.addTask {
                await withDiscardingTaskGroup { sessions in
                    for (position, arrival) in plan.arrivals.enumerated() {
                        let due = start + .microseconds(Int64(arrival.offset * 1_000_000))
                        await SendTicks.wait(until: due, origin: start)
                        recorder.arrivalsStarted.add(1, ordering: .relaxed)
                        let session = ShopperSession(
                            arrival: arrival, scenario: scenario, saleID: saleID,
                            target: options.targets[position % options.targets.count],
                            client: client.from(shopper: arrival.shopperID), jwts: jwts,
                            recorder: recorder, start: start, opens: opens)
                        sessions.addTask { await session.run(seed: options.seed) }
                    }
                }
                recorder.arrivalsFinished.store(true, ordering: .relaxed)
            }
            await group.waitForAll()
        }
        try await http.shutdown()
        recorder.fill(&report)
        return (report, recorder)
    }

    /// Once a second until the arrivals are done: the stock of every SKU and a progress line.
    static func watch(
        saleID: String, skus: [String], stores: AuditStores?, recorder: RunRecorder, start: ContinuousClock.Instant,
        planned: Int, progress: @Sendable (String) -> Void
    ) async {
        let keys = RedisKeys(saleID: saleID)
        var tick = max(start, .now)
        while !recorder.arrivalsFinished.load(ordering: .relaxed) {
            // A line a second even when this task wakes late (a starved generator): never a burst of them.
            tick = max(tick + .seconds(1), .now)
            try? await ContinuousClock().sleep(until: tick)
            if let stores,
                let reply = try? await stores.redis.send([.string("MGET")] + skus.map { .string(keys.stock($0)) }),
                let values = reply.array
            {
                var units: [String: Int64] = [:]
                for (sku, value) in zip(skus, values) { units[sku] = value.integer }
                recorder.stock(units, now: .now)
            }
            progress(recorder.progressLine(now: .now, planned: planned))
        }
    }
}
