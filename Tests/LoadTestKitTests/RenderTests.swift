import Foundation
import LoadTestKit
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Microsecond values recorded into a fresh histogram.
private func histogram(_ microseconds: [UInt64]) -> LatencyHistogram {
    var histogram = LatencyHistogram()
    for value in microseconds { histogram.record(microseconds: value) }
    return histogram
}

private let hostileDetail = #"token <script>alert(1)</script>&" sold twice, see https://evil.example/x"#

private func sampleReport() -> LoadReport {
    let results = [
        EndpointResult(
            endpoint: .order, answer: Answer(status: 409, code: "sold_out"), latency: histogram([2_000, 3_000, 40_000])),
        EndpointResult(endpoint: .healthz, answer: Answer(status: 200), latency: histogram([300, 400, 500, 600])),
        EndpointResult(endpoint: .order, answer: Answer(status: 201), latency: histogram([5_000, 8_000, 1_200_000])),
        EndpointResult(endpoint: .order, answer: .failed("timeout"), latency: histogram([10_000_000])),
        EndpointResult(endpoint: .checkoutToken, answer: Answer(status: 201), latency: histogram([1_000, 1_500])),
    ]
    let timeline = (0..<5).map { second in
        TimelineSecond(
            second: second,
            statuses: ["200": 40, "201": UInt64(10 * second), "409": 5, "429": 2, "503": second == 3 ? 4 : 0, "0": 1],
            latency: histogram([400, 2_000, 9_000, UInt64(second + 1) * 100_000]),
            purchaseLatency: second == 2 ? LatencyHistogram() : histogram([3_000, 20_000]),
            // SKU-B is sampled every other second only: its line joins the samples.
            stock: second.isMultiple(of: 2)
                ? ["SKU-A": Int64(100 - 25 * second), "SKU-B": Int64(10 - 3 * second)]
                : ["SKU-A": Int64(100 - 25 * second)]
        )
    }
    let sweep = [100.0, 200, 400].map { rate in
        SweepPoint(
            targetRate: rate, achievedRate: rate * 0.97, latency: histogram([2_000, UInt64(rate) * 100, UInt64(rate) * 1_000]),
            statuses: ["201": UInt64(rate), "409": 3], lateSends: rate > 300 ? 2 : 0)
    }
    let calibration = Calibration(
        ceilingPerSecond: 5_000,
        steps: [
            .init(targetRate: 1_000, achievedRate: 999, latency: histogram([200, 300]), lateSends: 0, requests: 10_000),
            .init(targetRate: 5_000, achievedRate: 4_990, latency: histogram([300, 900]), lateSends: 10, requests: 50_000),
        ])
    let audit = AuditResult(checks: [
        .init(name: "no oversell", passed: true, detail: "SKU-A: 100 sold of 100"),
        .init(name: "every 201 has a row", passed: false, detail: hostileDetail),
    ])
    // 5 of 100 sends late: more than 1%, so the generator fell behind.
    let generator = GeneratorHealth(
        sendLag: histogram(Array(repeating: 50, count: 95) + Array(repeating: 30_000, count: 5)), lateSends: 5)
    return LoadReport(
        scenario: #"sale-day <b>"peak"</b> & more"#, targets: ["http://localhost:8080", "http://localhost:8081"],
        runID: "run-42", saleID: "sale-7", seed: 1234, shards: ["1/1"],
        startedAt: Date(timeIntervalSince1970: 1_750_000_000), seconds: 5, results: results, timeline: timeline,
        generator: generator, calibration: calibration, sweep: sweep, audit: audit,
        createdOrders: [CreatedOrder(orderID: "o1", checkoutToken: "t1", shopperID: "s1", sku: "SKU-A", quantity: 1)],
        lostAnswers: [LostAnswer(checkoutToken: "t2", shopperID: "s2", reason: "timeout")]
    )
}

/// The text of every inline SVG in the page.
private func svgs(in html: String) -> [String] {
    html.components(separatedBy: "<svg").dropFirst().map { "<svg" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
}

private func isWellFormedXML(_ text: String) -> Bool {
    XMLParser(data: Data(text.utf8)).parse()
}

@Suite struct HTMLReportTests {
    let report = sampleReport()
    let html = HTMLReport.render(sampleReport())

    @Test func drawsEveryChartAsInlineSVG() {
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg"))
        for title in [
            "Requests per second by status", "Latency percentiles over time", "Stock remaining over time",
            "Latency against rate (sweep)",
        ] {
            #expect(html.contains(title), "missing chart \(title)")
        }
        #expect(svgs(in: html).count == 4)
        #expect(!html.contains("no data"))
    }

    @Test func everySVGIsWellFormed() {
        for svg in svgs(in: html) {
            #expect(isWellFormedXML(svg), "not well-formed: \(svg.prefix(200))")
        }
    }

    @Test func escapesEveryStringFromTheReport() {
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"))
        #expect(html.contains("sale-day &lt;b&gt;&quot;peak&quot;&lt;/b&gt; &amp; more"))
    }

    @Test func referencesNothingOutsideThePage() {
        #expect(!html.contains("src="))
        #expect(!html.contains("href="))
        #expect(!html.contains("url("))
        #expect(!html.contains("@import"))
        // Addresses may appear only as the report's own (escaped) text.
        var rest = html.replacingOccurrences(of: "see https://evil.example/x", with: "")
        for target in report.targets { rest = rest.replacingOccurrences(of: target, with: "") }
        #expect(!rest.contains("http://"))
        #expect(!rest.contains("https://"))
    }

    @Test func showsRunFactsAuditAndHealth() {
        for check in report.audit!.checks { #expect(html.contains(check.name)) }
        for fact in [
            "run-42", "sale-7", "1234", "2025-06-15T15:06:40Z", "GET /healthz", "POST /v1/sales/{id}/orders",
            "409 sold_out", "no answer (timeout)", "SKU-A", "SKU-B", "purchase p99", "429", "0 (no answer)",
        ] {
            #expect(html.contains(fact), "missing \(fact)")
        }
        #expect(html.contains("banner fail"))
        #expect(html.contains("1 of 2 audit checks"))
        #expect(html.contains("fell behind its schedule"))
        #expect(html.contains("Generator ceiling: <strong>5000 requests/s</strong>"))
        #expect(html.contains("Created orders (201): 1."))
        #expect(html.contains("Lost answers (order POSTs that may have committed): 1."))
        #expect(html.contains("✗"))
        #expect(html.contains("✓"))
    }

    @Test func sharesAreOfTheirEndpoint() {
        // 3 of the 7 order POSTs answered 201; every healthz request answered 200.
        #expect(html.contains("<td class=\"n\">42.9 %</td>"))
        #expect(html.contains("<td class=\"n\">100.0 %</td>"))
    }

    @Test func leavesOutTheSweepWhenThereIsNone() {
        var report = sampleReport()
        report.sweep = []
        let html = HTMLReport.render(report)
        #expect(!html.contains("Latency against rate"))
        #expect(svgs(in: html).count == 3)
    }

    @Test func passedAuditIsGreenAndMissingAuditIsSaid() {
        var report = sampleReport()
        report.audit = AuditResult(checks: [.init(name: "no oversell", passed: true, detail: "ok")])
        #expect(HTMLReport.render(report).contains("banner pass"))
        report.audit = nil
        #expect(HTMLReport.render(report).contains("no audit"))
    }

    @Test func gapsAndSingleSecondsStillDraw() {
        var report = sampleReport()
        report.timeline = [report.timeline[0], report.timeline[4]]
        for svg in svgs(in: HTMLReport.render(report)) { #expect(isWellFormedXML(svg)) }
        report.timeline = [report.timeline[0]]
        let html = HTMLReport.render(report)
        #expect(svgs(in: html).count == 4)
        for svg in svgs(in: html) { #expect(isWellFormedXML(svg)) }
    }
}

@Suite struct TerminalSummaryTests {
    let text = TerminalSummary.render(sampleReport())

    @Test func hasHeaderTableAndVerdict() {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].contains("sale-day"))
        #expect(lines[0].contains("http://localhost:8080, http://localhost:8081"))
        #expect(lines[0].contains("5.0 s"))
        #expect(lines[0].contains("13 requests"))
        #expect(lines[0].contains("2.6 req/s"))
        let heads = ["endpoint", "answer", "count", "p50", "p90", "p99", "p99.9", "max"]
        #expect(lines.contains { $0.split(separator: " ").map(String.init) == heads })
        #expect(text.contains("audit: FAILED (1 of 2 checks)"))
        #expect(text.contains("  ✗ every 201 has a row: \(hostileDetail)"))
        #expect(text.contains("  ✓ no oversell: SKU-A: 100 sold of 100"))
        #expect(text.contains("generator ceiling: 5000 requests/s on GET /healthz"))
        #expect(text.contains("WARNING: the generator fell behind its schedule"))
        for endpoint in [Endpoint.healthz, .checkoutToken, .order] { #expect(text.contains(endpoint.rawValue)) }
    }

    @Test func sortsByEndpointThenAnswer() throws {
        let lines = text.split(separator: "\n").map(String.init)
        // Answers by status: no answer (0) first.
        let order = [
            ("GET /healthz", "200"), ("POST /v1/sales/{id}/checkout-tokens", "201"),
            ("POST /v1/sales/{id}/orders", "no answer (timeout)"), ("POST /v1/sales/{id}/orders", "201"),
            ("POST /v1/sales/{id}/orders", "409 sold_out"),
        ]
        let positions = try order.map { endpoint, answer in
            try #require(lines.firstIndex { $0.hasPrefix(endpoint + " ") && $0.contains("  " + answer + " ") })
        }
        #expect(positions == positions.sorted())
        #expect(Set(positions).count == positions.count)
    }

    @Test func fitsATerminalWithoutColour() throws {
        for line in text.split(separator: "\n") { #expect(line.count <= 120, "too wide: \(line)") }
        #expect(!text.contains("\u{1B}"))
        // The columns line up: every result row is as wide as the header row.
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("endpoint") })
        for row in lines[(header + 1)...(header + 6)] { #expect(row.count == lines[header].count) }
    }

    @Test func printsTheSweepAsATable() {
        #expect(text.contains("target/s"))
        #expect(text.contains("100.0"))
        #expect(text.contains("388.0"))
        #expect(text.contains("201:400 409:3"))
    }
}

@Suite struct EmptyReportTests {
    let empty = LoadReport(
        scenario: "", targets: [], runID: "", saleID: "", seed: 0, shards: [], startedAt: Date(timeIntervalSince1970: 0))

    @Test func htmlSaysNoData() {
        let html = HTMLReport.render(empty)
        #expect(html.contains("no data"))
        #expect(html.contains("no audit"))
        #expect(html.contains("no requests"))
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func terminalSaysNotRun() {
        let text = TerminalSummary.render(empty)
        #expect(text.contains("no requests"))
        #expect(text.contains("audit: not run"))
        #expect(text.contains("0 requests, 0.0 req/s"))
    }

    @Test func timelineWithoutAnswersOrStock() {
        var report = empty
        report.timeline = [TimelineSecond(second: 0), TimelineSecond(second: 1)]
        report.sweep = [SweepPoint(targetRate: 10, achievedRate: 0, latency: LatencyHistogram(), statuses: [:], lateSends: 0)]
        let html = HTMLReport.render(report)
        #expect(html.contains("no data"))
        for svg in svgs(in: html) { #expect(isWellFormedXML(svg)) }
        #expect(!TerminalSummary.render(report).isEmpty)
    }
}

@Suite struct LatencyHistogramTests {
    @Test func jsonRoundTripKeepsPercentiles() throws {
        let original = histogram([1, 250, 999, 1_000, 1_001, 12_345, 250_000, 9_000_000, 700_000_000])
        let data = try JSONEncoder().encode(original)
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: data)
        #expect(decoded == original)
        #expect(decoded.count == 9)
        for percentile in [10.0, 50, 90, 99, 99.9] {
            #expect(decoded.milliseconds(atPercentile: percentile) == original.milliseconds(atPercentile: percentile))
        }
        #expect(decoded.maxMilliseconds == original.maxMilliseconds)
        // Past the highest trackable value is kept as the highest: 10 minutes.
        #expect(abs(decoded.maxMilliseconds - 600_000) / 600_000 < 0.001)
    }

    @Test func jsonRoundTripKeepsTheTopPercentilesWithinPrecision() throws {
        let original = histogram([1_000, 1_200_001, 1_234_567])
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
        for percentile in [50.0, 90, 99, 99.9, 100] {
            let (before, after) = (
                original.milliseconds(atPercentile: percentile), decoded.milliseconds(atPercentile: percentile)
            )
            #expect(abs(after - before) / before < 0.001, "p\(percentile)")
        }
        #expect(decoded.maxMilliseconds == original.maxMilliseconds)
        // The top percentiles are capped at the exact largest value recorded, which the encoding keeps.
        #expect(decoded.milliseconds(atPercentile: 99) == original.milliseconds(atPercentile: 99))
        #expect(decoded.maxMilliseconds == 1234.567)
    }

    @Test func mergeAddsCounts() {
        var left = histogram([1_000, 2_000])
        let right = histogram([3_000, 4_000, 500_000])
        left.merge(right)
        #expect(left.count == 5)
        #expect(abs(left.maxMilliseconds - 500) / 500 < 0.001)
        #expect(abs(left.milliseconds(atPercentile: 50) - 3) / 3 < 0.001)
        #expect(left != right)
    }

    @Test func emptyHistogramReadsZero() throws {
        let empty = LatencyHistogram()
        #expect(empty.milliseconds(atPercentile: 99) == 0)
        #expect(empty.maxMilliseconds == 0)
        #expect(try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(empty)) == empty)
    }

    @Test func reportRoundTripsThroughJSON() throws {
        let report = sampleReport()
        #expect(try JSONDecoder().decode(LoadReport.self, from: JSONEncoder().encode(report)) == report)
    }
}
