import Foundation

/// The run for a terminal of 120 columns. Plain text, no colour: it also lands in CI logs.
public enum TerminalSummary {
    public static func render(_ report: LoadReport) -> String {
        let rate = report.seconds > 0 ? Double(report.requests) / report.seconds : 0
        let targets = report.targets.isEmpty ? "no target" : report.targets.joined(separator: ", ")
        var lines = [
            "\(report.scenario) against \(targets): \(number(report.seconds, 1)) s, "
                + "\(report.requests) requests, \(number(rate, 1)) req/s", "",
        ]
        lines += resultLines(report.results)
        lines.append("")
        lines += generatorLines(report.generator)
        if let calibration = report.calibration {
            lines.append("generator ceiling: \(calibration.ceilingText) on \(Endpoint.healthz.rawValue)")
        }
        if !report.sweep.isEmpty {
            lines += ["", "sweep (order POSTs; latency in ms from the scheduled send):"] + sweepLines(report.sweep)
        }
        lines.append("")
        lines.append(AuditText.lines(report.audit))
        return lines.joined(separator: "\n") + "\n"
    }

    private static let latencyHeads = ["p50", "p90", "p99", "p99.9", "max"]

    private static func latencyCells(_ latency: LatencyHistogram) -> [String] {
        [50, 90, 99, 99.9].map { ms(latency.milliseconds(atPercentile: $0)) } + [ms(latency.maxMilliseconds)]
    }

    private static func resultLines(_ results: [EndpointResult]) -> [String] {
        guard !results.isEmpty else { return ["no requests"] }
        let sorted = results.sorted { ($0.endpoint, $0.answer) < ($1.endpoint, $1.answer) }
        // The longest endpoint is 35 columns; a long problem code is cut so the row fits in 120.
        let rows = sorted.map { result in
            [result.endpoint.rawValue, truncated(result.answer.description, to: 24), String(result.latency.count)]
                + latencyCells(result.latency)
        }
        return ["latency in ms from the scheduled send:"]
            + aligned([["endpoint", "answer", "count"] + latencyHeads] + rows, leftAligned: [0, 1], rule: true)
    }

    private static func generatorLines(_ generator: GeneratorHealth) -> [String] {
        let lag = generator.sendLag
        let share = lag.count > 0 ? Double(generator.lateSends) / Double(lag.count) * 100 : 0
        var lines = [
            "generator: send lag p99 \(ms(lag.milliseconds(atPercentile: 99))) ms, max \(ms(lag.maxMilliseconds)) ms; "
                + "late sends \(generator.lateSends) of \(lag.count) (\(number(share, 2))% over \(number(generator.lateThresholdMilliseconds, 1)) ms)"
        ]
        if generator.fellBehind {
            lines.append(
                "WARNING: the generator fell behind its schedule (\(number(share, 2))% of sends late): "
                    + "these figures measure the generator too.")
        }
        return lines
    }

    private static func sweepLines(_ sweep: [SweepPoint]) -> [String] {
        let rows = sweep.sorted { $0.targetRate < $1.targetRate }.map { point in
            [number(point.targetRate, 1), number(point.achievedRate, 1)] + latencyCells(point.latency)
                + [String(point.lateSends), statusList(point.statuses)]
        }
        let heads = ["target/s", "achieved/s"] + latencyHeads + ["late", "statuses"]
        return aligned([heads] + rows, leftAligned: [heads.count - 1], rule: true)
    }

    /// Pads each column to its widest cell: text columns on the left edge, numbers on the right.
    /// With `rule`, the first row is a header and gets a line of dashes under it.
    private static func aligned(_ rows: [[String]], leftAligned: Set<Int>, rule: Bool = false) -> [String] {
        let columnCount = rows.map(\.count).max() ?? 0
        let widths = (0..<columnCount).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        var lines = rows.map { row in
            var line = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return leftAligned.contains(column) ? cell + padding : padding + cell
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
        if rule, !lines.isEmpty {
            lines.insert(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "), at: 1)
        }
        return lines
    }

    private static func truncated(_ text: String, to length: Int) -> String {
        text.count <= length ? text : text.prefix(length - 1) + "…"
    }

    /// Statuses in numeric order, "0" (no answer) last, as in the HTML report.
    private static func statusList(_ statuses: [String: UInt64]) -> String {
        func rank(_ key: String) -> Int { key == "0" ? 1_000 : Int(key) ?? 2_000 }
        return statuses.sorted { (rank($0.key), $0.key) < (rank($1.key), $1.key) }
            .map { "\($0.key):\($0.value)" }.joined(separator: " ")
    }

    /// Fixed decimals with a "." whatever the machine's locale.
    private static func number(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// Two decimals under 10 ms, one above: sub-millisecond answers stay readable, stalls stay short.
    private static func ms(_ value: Double) -> String { number(value, value < 10 ? 2 : 1) }
}
