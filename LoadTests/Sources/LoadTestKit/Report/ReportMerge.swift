/// Several runs' reports as one, as if one machine had sent all their requests: the shards of one
/// rehearsal, run from several load machines at the same start time.
public enum ReportMerge {
    public static func merge(_ reports: [LoadReport]) throws -> LoadReport {
        guard var merged = reports.first else { throw ScenarioError("merge needs at least one report.json") }
        for report in reports.dropFirst() {
            guard report.saleID == merged.saleID else {
                throw ScenarioError(
                    "the reports are of different sales (\(merged.saleID), \(report.saleID)): not shards of one run")
            }
            merged.targets = Array(Set(merged.targets + report.targets)).sorted()
            merged.shards += report.shards
            merged.startedAt = min(merged.startedAt, report.startedAt)
            merged.seconds = max(merged.seconds, report.seconds)
            merged.results = mergeResults(merged.results, report.results)
            merged.timeline = mergeTimelines(merged.timeline, report.timeline)
            merged.generator.sendLag.merge(report.generator.sendLag)
            merged.generator.lateSends += report.generator.lateSends
            merged.generator.answerTime.merge(report.generator.answerTime)
            // The lowest ceiling: the slowest load machine limits what the merged figures can show.
            if let calibration = report.calibration,
                calibration.ceilingPerSecond < merged.calibration?.ceilingPerSecond ?? .infinity
            {
                merged.calibration = calibration
            }
            merged.sweep += report.sweep
            merged.createdOrders += report.createdOrders
            merged.lostAnswers += report.lostAnswers
            // Each shard audited only its own shoppers' answers; the merged answers are audited anew.
            merged.audit = nil
        }
        return merged
    }

    static func mergeResults(_ left: [EndpointResult], _ right: [EndpointResult]) -> [EndpointResult] {
        var byKey: [RunRecorder.Key: LatencyHistogram] = [:]
        for result in left + right {
            byKey[RunRecorder.Key(endpoint: result.endpoint, answer: result.answer), default: LatencyHistogram()].merge(
                result.latency)
        }
        return byKey.map { EndpointResult(endpoint: $0.key.endpoint, answer: $0.key.answer, latency: $0.value) }
            .sorted { ($0.endpoint, $0.answer) < ($1.endpoint, $1.answer) }
    }

    /// Seconds are counted from each shard's first scheduled send: the same instant when the
    /// shards were started with the same `--start-at`.
    static func mergeTimelines(_ left: [TimelineSecond], _ right: [TimelineSecond]) -> [TimelineSecond] {
        var seconds: [Int: TimelineSecond] = [:]
        for entry in left + right {
            guard var known = seconds[entry.second] else {
                seconds[entry.second] = entry
                continue
            }
            known.statuses.merge(entry.statuses, uniquingKeysWith: +)
            known.latency.merge(entry.latency)
            known.purchaseLatency.merge(entry.purchaseLatency)
            // Both sampled the same Redis; keep one sample.
            if known.stock.isEmpty { known.stock = entry.stock }
            seconds[entry.second] = known
        }
        return seconds.keys.sorted().compactMap { seconds[$0] }
    }
}
