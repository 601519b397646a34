import Foundation

/// The run as one HTML page that opens offline, attached to a ticket or mailed: inline CSS and
/// SVG, no script, nothing fetched. Every string that came from the report is escaped.
public enum HTMLReport {
    public static func render(_ report: LoadReport) -> String {
        var page = head(report) + header(report) + resultsSection(report.results)
        page += statusChart(report.timeline) + latencyChart(report.timeline) + stockChart(report.timeline)
        if !report.sweep.isEmpty { page += sweepSection(report.sweep) }
        page += generatorSection(report.generator)
        if let calibration = report.calibration { page += calibrationSection(calibration) }
        if let audit = report.audit { page += auditSection(audit) }
        // Counts only: the lists run to tens of thousands and live in report.json.
        page += "<h2>Orders</h2>\n<p>Created orders (201): \(report.createdOrders.count). "
        page += "Lost answers (order POSTs that may have committed): \(report.lostAnswers.count).</p>\n"
        return page + "</body>\n</html>\n"
    }

    private static let percentiles: [(label: String, value: Double, color: String)] = [
        ("p50", 50, "#1f77b4"), ("p90", 90, "#2ca02c"), ("p99", 99, "#ff7f0e"), ("p99.9", 99.9, "#d62728"),
    ]

    private static func head(_ report: LoadReport) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>FlashSale load test: \(esc(report.scenario))</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;max-width:960px;margin:24px auto;padding:0 12px}
        h1{font-size:22px;margin:0 0 10px}h2{font-size:17px;margin:30px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
        dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#666}dd{margin:0}
        .banner{padding:10px 14px;border-radius:6px;font-weight:600;margin:16px 0;color:#fff}
        .pass{background:#1a7f37}.fail{background:#c62828}.none{background:#777}
        table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
        th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
        th{background:#f6f6f6}.n{text-align:right}
        figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
        svg{display:block;width:100%;max-width:900px;height:auto}svg text{font-size:11px;fill:#444}
        .grid{stroke:#e6e6e6}.axis{stroke:#888}
        .legend span{display:inline-block;margin-right:14px;font-size:12px}
        .legend i{display:inline-block;width:18px;border-top:3px solid;vertical-align:middle;margin-right:5px}
        .legend i.area{height:10px;border:0}.legend i.dash{border-top-style:dashed}
        .warn{background:#fff3cd;border:1px solid #e0b000;border-radius:4px;padding:8px 12px}
        .empty{color:#777;font-style:italic}.ok{color:#1a7f37}.bad{color:#c62828}
        ul.audit{list-style:none;padding:0}ul.audit li{margin:3px 0}
        </style>
        </head>
        <body>

        """
    }

    private static func header(_ report: LoadReport) -> String {
        let rate = report.seconds > 0 ? Double(report.requests) / report.seconds : 0
        let facts: [(String, String)] = [
            ("Targets", report.targets.joined(separator: ", ")), ("Run", report.runID), ("Sale", report.saleID),
            ("Seed", String(report.seed)), ("Shards", report.shards.joined(separator: ", ")),
            ("Started at", ISO8601DateFormatter().string(from: report.startedAt)),
            ("Duration", number(report.seconds, 1) + " s"),
            ("Requests", "\(report.requests) (\(number(rate, 1)) per second)"),
        ]
        var html = "<h1>FlashSale load test: \(esc(report.scenario))</h1>\n<dl class=\"meta\">\n"
        for (name, value) in facts { html += "<dt>\(name)</dt><dd>\(esc(value))</dd>\n" }
        html += "</dl>\n"
        guard let audit = report.audit else { return html + "<div class=\"banner none\">no audit</div>\n" }
        let failed = audit.checks.filter { !$0.passed }.count
        return html
            + (audit.passed
                ? "<div class=\"banner pass\">PASSED: all \(audit.checks.count) audit checks held</div>\n"
                : "<div class=\"banner fail\">FAILED: \(failed) of \(audit.checks.count) audit checks</div>\n")
    }

    private static func resultsSection(_ results: [EndpointResult]) -> String {
        let html = "<h2>Results by endpoint and answer</h2>\n"
        guard !results.isEmpty else { return html + "<p class=\"empty\">no requests</p>\n" }
        let perEndpoint = Dictionary(results.map { ($0.endpoint, $0.latency.count) }, uniquingKeysWith: +)
        var rows: [[String]] = []
        for result in results.sorted(by: { ($0.endpoint, $0.answer) < ($1.endpoint, $1.answer) }) {
            let share = Double(result.latency.count) / Double(max(perEndpoint[result.endpoint] ?? 1, 1)) * 100
            rows.append(
                [
                    result.endpoint.rawValue, result.answer.description, String(result.latency.count),
                    number(share, 1) + " %",
                ] + latencyCells(result.latency))
        }
        return html + table(["Endpoint", "Answer", "Count", "Share"] + latencyHeads, rows, text: [0, 1])
    }

    private static let latencyHeads = ["p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]

    private static func latencyCells(_ latency: LatencyHistogram) -> [String] {
        percentiles.map { ms(latency.milliseconds(atPercentile: $0.value)) } + [ms(latency.maxMilliseconds)]
    }

    // MARK: Charts

    /// The timeline as one entry per second from the first to the last, so a missing second
    /// shows as a gap (no requests, no answers) rather than being drawn over.
    private static func seconds(_ timeline: [TimelineSecond]) -> (range: ClosedRange<Int>, at: [Int: TimelineSecond])? {
        guard let first = timeline.map(\.second).min(), let last = timeline.map(\.second).max() else { return nil }
        return (first...last, Dictionary(timeline.map { ($0.second, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    private static func statusChart(_ timeline: [TimelineSecond]) -> String {
        let title = "Requests per second by status"
        guard case (let range, let at)? = seconds(timeline), timeline.contains(where: { $0.requests > 0 }) else {
            return figure(title, nil)
        }
        let keys = Set(timeline.flatMap(\.statuses.keys)).sorted(by: statusOrder)
        let totals = range.map { Double(at[$0]?.requests ?? 0) }
        var chart = Chart(
            x: .linear(Double(range.lowerBound), Double(range.upperBound + 1), minimumStep: 1),
            y: .linear(0, totals.max() ?? 1), xTitle: "second of the run", yTitle: "requests / s")
        var bottom = [Double](repeating: 0, count: range.count)
        var legend: [(String, String, LegendMark)] = []
        for key in keys {
            let color = statusColor(key, among: keys)
            let top = zip(range, bottom).map { second, low in low + Double(at[second]?.statuses[key] ?? 0) }
            // A step outline: each second's count holds across [s, s + 1), like a bar without gaps.
            var outline: [(Double, Double)] = []
            for (i, second) in range.enumerated() {
                outline += [(Double(second), top[i]), (Double(second + 1), top[i])]
            }
            for (i, second) in range.enumerated().reversed() {
                outline += [(Double(second + 1), bottom[i]), (Double(second), bottom[i])]
            }
            let points = outline.map { chart.point($0.0, $0.1) }
            chart.marks.append("<polygon fill=\"\(color)\" points=\"\(points.joined(separator: " "))\"/>")
            legend.append((key == "0" ? "0 (no answer)" : key, color, .area))
            bottom = top
        }
        return figure(title, chart.svg(label: title), legend: legend)
    }

    private static func latencyChart(_ timeline: [TimelineSecond]) -> String {
        let title = "Latency percentiles over time"
        guard case (let range, let at)? = seconds(timeline), timeline.contains(where: { $0.latency.count > 0 }) else {
            return figure(title, nil)
        }
        // A second without answers breaks the line: a stall should look like one.
        func series(_ histogram: (TimelineSecond) -> LatencyHistogram, _ percentile: Double) -> [[(Double, Double)]] {
            var segments: [[(Double, Double)]] = [[]]
            for second in range {
                if let latency = at[second].map(histogram), latency.count > 0 {
                    segments[segments.count - 1].append((Double(second) + 0.5, latency.milliseconds(atPercentile: percentile)))
                } else if !segments[segments.count - 1].isEmpty {
                    segments.append([])
                }
            }
            return segments
        }
        var lines = percentiles.map { (series(\.latency, $0.value), $0.color, false, $0.label) }
        lines.append((series(\.purchaseLatency, 99), "#6a3d9a", true, "purchase p99"))
        let values = lines.flatMap { $0.0.flatMap { $0.map(\.1) } }
        var chart = Chart(
            x: .linear(Double(range.lowerBound), Double(range.upperBound + 1), minimumStep: 1),
            y: .logarithmic(values), xTitle: "second of the run", yTitle: "ms (log)")
        for (segments, color, dashed, _) in lines { chart.marks.append(chart.path(segments, color: color, dashed: dashed)) }
        let legend = lines.map { ($0.3, $0.1, $0.2 ? LegendMark.dash : .line) }
        return figure(title, chart.svg(label: title), legend: legend)
    }

    private static func stockChart(_ timeline: [TimelineSecond]) -> String {
        let title = "Stock remaining over time"
        let skus = Set(timeline.flatMap(\.stock.keys)).sorted()
        guard case (let range, let at)? = seconds(timeline), !skus.isEmpty else { return figure(title, nil) }
        let samples = skus.map { sku in range.compactMap { s in at[s]?.stock[sku].map { (Double(s) + 0.5, Double($0)) } } }
        let values = samples.flatMap { $0.map(\.1) }
        // Below zero stays visible: negative stock is an oversell.
        var chart = Chart(
            x: .linear(Double(range.lowerBound), Double(range.upperBound + 1), minimumStep: 1),
            y: .linear(min(0, values.min() ?? 0), values.max() ?? 1, minimumStep: 1),
            xTitle: "second of the run", yTitle: "units left")
        var legend: [(String, String, LegendMark)] = []
        for (i, sku) in skus.enumerated() {
            let color = categorical[i % categorical.count]
            chart.marks.append(chart.path([samples[i]], color: color))
            legend.append((sku, color, .line))
        }
        return figure(title, chart.svg(label: title), legend: legend)
    }

    private static func sweepSection(_ sweep: [SweepPoint]) -> String {
        let title = "Latency against rate (sweep)"
        let points = sweep.sorted { $0.targetRate < $1.targetRate }
        let values = points.flatMap { point in percentiles.map { point.latency.milliseconds(atPercentile: $0.value) } }
        var chart = Chart(
            x: .linear(0, points.map(\.achievedRate).max() ?? 1), y: .logarithmic(values),
            xTitle: "order answers per second (achieved)", yTitle: "ms (log)")
        for percentile in percentiles {
            let line = points.compactMap { p in
                p.latency.count > 0 ? (p.achievedRate, p.latency.milliseconds(atPercentile: percentile.value)) : nil
            }
            chart.marks.append(chart.path([line], color: percentile.color))
            chart.marks += line.map { chart.dot($0.0, $0.1, color: percentile.color) }
        }
        let legend = percentiles.map { ($0.label, $0.color, LegendMark.line) }
        var html = "<h2>Sweep</h2>\n" + figure(title, chart.svg(label: title), legend: legend)
        let rows = points.map { p in
            [number(p.targetRate, 1), number(p.achievedRate, 1)] + latencyCells(p.latency)
                + [String(p.lateSends), statusList(p.statuses)]
        }
        html += table(["Target /s", "Achieved /s"] + latencyHeads + ["Late sends", "Statuses"], rows, text: [8])
        return html
    }

    // MARK: Sections

    private static func generatorSection(_ generator: GeneratorHealth) -> String {
        let lag = generator.sendLag
        let share = lag.count > 0 ? Double(generator.lateSends) / Double(lag.count) * 100 : 0
        var html = "<h2>Generator health</h2>\n<p>Send lag p50 \(ms(lag.milliseconds(atPercentile: 50))) ms, "
        html += "p99 \(ms(lag.milliseconds(atPercentile: 99))) ms, max \(ms(lag.maxMilliseconds)) ms. "
        html += "Late sends (more than \(number(generator.lateThresholdMilliseconds, 1)) ms behind schedule): "
        html += "\(generator.lateSends) of \(lag.count) (\(number(share, 2)) %).</p>\n"
        if generator.fellBehind {
            html += "<p class=\"warn\">⚠ The generator fell behind its schedule: \(number(share, 2)) % of sends left late, "
            html += "so these figures measure the generator too, not only the service.</p>\n"
        }
        return html
    }

    private static func calibrationSection(_ calibration: Calibration) -> String {
        var html = "<h2>Calibration</h2>\n<p>Generator ceiling: <strong>\(esc(calibration.ceilingText))</strong>"
        html += " on \(esc(Endpoint.healthz.rawValue)) at the same open-loop schedule.</p>\n"
        let rows = calibration.steps.map { step in
            [number(step.targetRate, 1), number(step.achievedRate, 1), String(step.requests), String(step.lateSends)]
                + latencyCells(step.latency)
        }
        return html + table(["Target /s", "Achieved /s", "Requests", "Late sends"] + latencyHeads, rows, text: [])
    }

    private static func auditSection(_ audit: AuditResult) -> String {
        var html = "<h2>Audit</h2>\n<ul class=\"audit\">\n"
        for check in audit.checks {
            let mark = check.passed ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>"
            html += "<li>\(mark) <strong>\(esc(check.name))</strong>: \(esc(check.detail))</li>\n"
        }
        return html + "</ul>\n"
    }

    // MARK: Pieces

    private enum LegendMark { case area, line, dash }

    /// A chart's figure, or its title over "no data" when there is nothing to draw.
    private static func figure(_ title: String, _ svg: String?, legend: [(String, String, LegendMark)] = []) -> String {
        let caption = "<figure><figcaption>\(esc(title))</figcaption>\n"
        guard let svg else { return caption + "<p class=\"empty\">no data</p></figure>\n" }
        var html = caption + svg + "\n<div class=\"legend\">"
        for (name, color, mark) in legend {
            let swatch =
                switch mark {
                case .area: "class=\"area\" style=\"background:\(color)\""
                case .line: "style=\"border-color:\(color)\""
                case .dash: "class=\"dash\" style=\"border-color:\(color)\""
                }
            html += "<span><i \(swatch)></i>\(esc(name))</span>"
        }
        return html + "</div></figure>\n"
    }

    /// Numbers right-aligned, the `text` columns left; cells are escaped here.
    private static func table(_ heads: [String], _ rows: [[String]], text: Set<Int>) -> String {
        func cells(_ values: [String], _ tag: String) -> String {
            values.enumerated().map { i, value in
                "<\(tag)\(text.contains(i) ? "" : " class=\"n\"")>\(esc(value))</\(tag)>"
            }.joined()
        }
        return "<table>\n<tr>\(cells(heads, "th"))</tr>\n" + rows.map { "<tr>\(cells($0, "td"))</tr>\n" }.joined() + "</table>\n"
    }

    /// Numeric status order, so 2xx sit at the bottom of the stack and "0" (no answer) on top.
    private static func statusOrder(_ a: String, _ b: String) -> Bool {
        func rank(_ key: String) -> Int { key == "0" ? 1_000 : Int(key) ?? 2_000 }
        return (rank(a), a) < (rank(b), b)
    }

    private static func statusColor(_ key: String, among keys: [String]) -> String {
        let palette: [String] =
            switch Int(key) ?? -1 {
            case 0: ["#333333"]
            case 200..<300: ["#1a9850", "#66bd63", "#006837", "#a6d96a"]
            case 429: ["#7b3294"]
            case 400..<500: ["#fd8d3c", "#fed976", "#e6550d", "#feb24c", "#b35806"]
            case 500..<600: ["#d73027", "#a50026", "#f46d43", "#67001f"]
            default: ["#4575b4", "#74add1", "#313695", "#999999"]
            }
        // Several statuses of one class get neighbouring shades of its colour.
        let family = keys.filter { statusFamily($0) == statusFamily(key) }
        return palette[(family.firstIndex(of: key) ?? 0) % palette.count]
    }

    private static func statusFamily(_ key: String) -> Int {
        guard let status = Int(key) else { return -1 }
        return status == 429 ? 429 : status / 100
    }

    private static let categorical = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    private static func statusList(_ statuses: [String: UInt64]) -> String {
        statuses.keys.sorted(by: statusOrder).map { "\($0): \(statuses[$0] ?? 0)" }.joined(separator: ", ")
    }
}

/// One SVG chart, 900 × 260 in its viewBox: axes with ticks and titles, then the marks.
private struct Chart {
    // The plot area inside the viewBox (svg(label:) writes these numbers out); the rest holds
    // tick labels and axis titles.
    static let left = 64.0, right = 886.0, top = 12.0, bottom = 216.0

    var x: Scale
    var y: Scale
    var xTitle: String
    var yTitle: String
    var marks: [String] = []

    func px(_ value: Double) -> Double { Self.left + x.fraction(value) * (Self.right - Self.left) }
    func py(_ value: Double) -> Double { Self.bottom - y.fraction(value) * (Self.bottom - Self.top) }

    func point(_ x: Double, _ y: Double) -> String { "\(coordinate(px(x))) \(coordinate(py(y)))" }

    /// Polylines of the segments; a lone point still shows, as a dot from its round cap.
    func path(_ segments: [[(Double, Double)]], color: String, dashed: Bool = false) -> String {
        let d = segments.filter { !$0.isEmpty }.map { segment in
            "M" + segment.map { point($0.0, $0.1) }.joined(separator: " L") + (segment.count == 1 ? " l0 0" : "")
        }.joined(separator: " ")
        let style = "fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" stroke-linecap=\"round\" stroke-linejoin=\"round\""
        return "<path d=\"\(d)\" \(style)\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
    }

    func dot(_ x: Double, _ y: Double, color: String) -> String {
        "<circle cx=\"\(coordinate(px(x)))\" cy=\"\(coordinate(py(y)))\" r=\"3\" fill=\"\(color)\"/>"
    }

    func svg(label: String) -> String {
        var parts = ["<svg viewBox=\"0 0 900 260\" width=\"900\" height=\"260\" role=\"img\" aria-label=\"\(esc(label))\">"]
        for tick in y.ticks {
            let ty = coordinate(py(tick.value))
            parts.append("<line class=\"grid\" x1=\"64\" y1=\"\(ty)\" x2=\"886\" y2=\"\(ty)\"/>")
            parts.append("<text x=\"58\" y=\"\(ty)\" dy=\"4\" text-anchor=\"end\">\(tick.label)</text>")
        }
        for tick in x.ticks {
            let tx = coordinate(px(tick.value))
            parts.append("<line class=\"axis\" x1=\"\(tx)\" y1=\"216\" x2=\"\(tx)\" y2=\"220\"/>")
            parts.append("<text x=\"\(tx)\" y=\"233\" text-anchor=\"middle\">\(tick.label)</text>")
        }
        parts += marks
        parts.append("<path class=\"axis\" fill=\"none\" d=\"M64 12 V216 H886\"/>")
        parts.append("<text x=\"475\" y=\"254\" text-anchor=\"middle\">\(esc(xTitle))</text>")
        parts.append("<text x=\"14\" y=\"114\" text-anchor=\"middle\" transform=\"rotate(-90 14 114)\">\(esc(yTitle))</text>")
        return (parts + ["</svg>"]).joined(separator: "\n")
    }
}

/// A value axis: linear with round-number ticks, or log10 with a tick per power of ten.
private struct Scale {
    var low: Double
    var high: Double
    var isLog: Bool
    var ticks: [(value: Double, label: String)]

    func fraction(_ value: Double) -> Double {
        guard isLog else { return (value - low) / (high - low) }
        return (log10(max(value, low)) - log10(low)) / (log10(high) - log10(low))
    }

    static func linear(_ low: Double, _ high: Double, minimumStep: Double = 0) -> Scale {
        let high = high > low ? high : low + 1
        let raw = (high - low) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = max(minimumStep, magnitude * ([1, 2, 5, 10].first { raw / magnitude <= $0 } ?? 10))
        let (from, to) = (floor(low / step) * step, ceil(high / step) * step)
        let decimals = step >= 1 ? 0 : Int(ceil(-log10(step)))
        let ticks = stride(from: from, through: to + step / 2, by: step).map { ($0, number($0, decimals)) }
        return Scale(low: from, high: to, isLog: false, ticks: ticks)
    }

    /// Spans whole decades around the values; latencies run from under 1 ms to seconds.
    static func logarithmic(_ values: [Double]) -> Scale {
        let positive = values.filter { $0 > 0 }
        let lowExponent = Int(floor(log10(positive.min() ?? 1)))
        let highExponent = max(Int(ceil(log10(positive.max() ?? 10))), lowExponent + 1)
        let ticks = (lowExponent...highExponent).map { e in (pow(10, Double(e)), number(pow(10, Double(e)), max(0, -e))) }
        return Scale(low: pow(10, Double(lowExponent)), high: pow(10, Double(highExponent)), isLog: true, ticks: ticks)
    }
}

private func esc(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}

/// Fixed decimals with a "." whatever the machine's locale; never "-0".
private func number(_ value: Double, _ decimals: Int) -> String {
    let text = String(format: "%.\(decimals)f", value)
    return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
}

private func coordinate(_ value: Double) -> String { number(value, 1) }

/// Milliseconds with two decimals under 10 ms and one above: enough to tell 0.35 from 0.42.
private func ms(_ value: Double) -> String { number(value, value < 10 ? 2 : 1) }
