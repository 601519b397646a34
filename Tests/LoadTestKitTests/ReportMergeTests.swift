import Foundation
import Testing

@testable import LoadTestKit

@Suite struct ReportMergeTests {
    static func report(shard: String, latencies: [UInt64], order: String) -> LoadReport {
        var histogram = LatencyHistogram()
        for value in latencies { histogram.record(microseconds: value) }
        var second = TimelineSecond(second: 0, statuses: ["201": UInt64(latencies.count)], latency: histogram)
        second.stock = ["hot": 5]
        return LoadReport(
            scenario: "s", targets: ["http://a"], runID: "r", saleID: "sale-r", seed: 1, shards: [shard],
            startedAt: Date(timeIntervalSince1970: 1_800_000_000),
            seconds: 10, results: [EndpointResult(endpoint: .order, answer: Answer(status: 201), latency: histogram)],
            timeline: [second],
            createdOrders: [CreatedOrder(orderID: order, checkoutToken: "t-" + order, shopperID: "s", sku: "hot", quantity: 1)])
    }

    @Test func histogramsAddUpAsIfOneMachineHadSentEverything() throws {
        let merged = try ReportMerge.merge([
            Self.report(shard: "1/2", latencies: [1000, 2000, 3000], order: "a"),
            Self.report(shard: "2/2", latencies: [100_000], order: "b"),
        ])
        #expect(merged.shards == ["1/2", "2/2"])
        #expect(merged.results.count == 1)
        #expect(merged.results[0].latency.count == 4)
        #expect(merged.results[0].latency.maxMilliseconds > 99)
        #expect(merged.timeline.count == 1)
        #expect(merged.timeline[0].statuses["201"] == 4)
        #expect(merged.createdOrders.map(\.orderID) == ["a", "b"])
        #expect(merged.audit == nil)
    }

    @Test func reportsOfDifferentSalesAreRefused() throws {
        var other = Self.report(shard: "2/2", latencies: [1], order: "b")
        other.saleID = "another"
        #expect(throws: ScenarioError.self) {
            try ReportMerge.merge([Self.report(shard: "1/2", latencies: [1], order: "a"), other])
        }
    }

    @Test func aReportSurvivesItsFile() throws {
        let report = Self.report(shard: "1/1", latencies: [10, 20_000, 5_000_000], order: "a")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fs-report-\(UInt32.random(in: 0..<UInt32.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try ReportFiles.write(report, to: folder)
        let read = try ReportFiles.read(files.json.path)
        #expect(read == report)
        #expect(read.results[0].latency.milliseconds(atPercentile: 100) >= 4990)
    }
}

@Suite struct SendTicksTests {
    @Test func theScheduleIsAGridOfMillisecondsFromTheStart() {
        let origin = ContinuousClock.now
        #expect(SendTicks.tick(at: origin, origin: origin) == origin)
        #expect(SendTicks.tick(at: origin + .microseconds(1), origin: origin) == origin + .milliseconds(1))
        #expect(SendTicks.tick(at: origin + .microseconds(1000), origin: origin) == origin + .milliseconds(1))
        #expect(SendTicks.tick(at: origin + .microseconds(2_400), origin: origin) == origin + .milliseconds(3))
        // Before the start (a shard that began late): as it is.
        #expect(SendTicks.tick(at: origin - .seconds(1), origin: origin) == origin - .seconds(1))
    }
}

@Suite struct CalibrationTextTests {
    @Test func aCeilingIsARateOrSaysNoRateWasHeld() {
        let step = Calibration.Step(targetRate: 125, achievedRate: 100, latency: LatencyHistogram(), lateSends: 9, requests: 125)
        #expect(Calibration(ceilingPerSecond: 4000, steps: [step]).ceilingText == "4000 requests/s")
        #expect(Calibration(ceilingPerSecond: 0, steps: [step]).ceilingText == "below 125 requests/s (no rate tried was held)")
    }
}
