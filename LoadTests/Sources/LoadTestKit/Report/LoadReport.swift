import Foundation

/// Everything one run measured and found: written as `report.json`, drawn as `report.html`,
/// printed as the terminal summary, and combined across shards by `merge`.
public struct LoadReport: Sendable, Codable, Equatable {
    public var scenario: String
    /// The service(s) the run sent its requests to.
    public var targets: [String]
    public var runID: String
    public var saleID: String
    /// The behaviour mix's seed: the same seed plans the same shoppers doing the same things.
    public var seed: UInt64
    /// "i/N" of each run merged into this report ("1/1" for a run on one machine).
    public var shards: [String]
    public var startedAt: Date
    /// Seconds from the first scheduled send to the last answer.
    public var seconds: Double
    /// One entry per endpoint and answer (status and problem code), with its latency histogram.
    public var results: [EndpointResult]
    /// One entry per second of the run, from the first scheduled send.
    public var timeline: [TimelineSecond]
    public var generator: GeneratorHealth
    public var calibration: Calibration?
    public var sweep: [SweepPoint]
    public var audit: AuditResult?
    /// Every 201 to an order POST: what the audit matches against PostgreSQL.
    public var createdOrders: [CreatedOrder]
    /// Order POSTs whose answer never arrived (cut connection, timeout): each may have committed.
    public var lostAnswers: [LostAnswer]

    public init(
        scenario: String, targets: [String], runID: String, saleID: String, seed: UInt64, shards: [String],
        startedAt: Date, seconds: Double = 0, results: [EndpointResult] = [], timeline: [TimelineSecond] = [],
        generator: GeneratorHealth = GeneratorHealth(), calibration: Calibration? = nil, sweep: [SweepPoint] = [],
        audit: AuditResult? = nil, createdOrders: [CreatedOrder] = [], lostAnswers: [LostAnswer] = []
    ) {
        self.scenario = scenario
        self.targets = targets
        self.runID = runID
        self.saleID = saleID
        self.seed = seed
        self.shards = shards
        self.startedAt = startedAt
        self.seconds = seconds
        self.results = results
        self.timeline = timeline
        self.generator = generator
        self.calibration = calibration
        self.sweep = sweep
        self.audit = audit
        self.createdOrders = createdOrders
        self.lostAnswers = lostAnswers
    }

    /// Requests of the whole run, over every endpoint and answer.
    public var requests: UInt64 { results.reduce(0) { $0 + $1.latency.count } }
}

/// The endpoints a simulated shopper or bot calls, named as in the API contract.
public enum Endpoint: String, Sendable, Codable, CaseIterable, Comparable {
    case healthz = "GET /healthz"
    case sale = "GET /v1/sales/{id}"
    case item = "GET /v1/sales/{id}/items/{sku}"
    case checkoutToken = "POST /v1/sales/{id}/checkout-tokens"
    case order = "POST /v1/sales/{id}/orders"
    case pay = "POST /v1/orders/{id}/pay"
    case cancel = "POST /v1/orders/{id}/cancel"

    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What came back: an HTTP status with the problem's `code` when there was one, or no answer at all.
public struct Answer: Sendable, Codable, Hashable, Comparable, CustomStringConvertible {
    /// 0 when no answer arrived (see `error`).
    public var status: Int
    /// The problem+json `code` of an error answer (`sold_out`, `purchase_limit`, …).
    public var code: String?
    /// Why no answer arrived: `timeout`, `connection`, …
    public var error: String?

    public init(status: Int, code: String? = nil, error: String? = nil) {
        self.status = status
        self.code = code
        self.error = error
    }

    public static func failed(_ reason: String) -> Answer { Answer(status: 0, error: reason) }

    public var isLost: Bool { status == 0 }

    public var description: String {
        if let error { return "no answer (\(error))" }
        if let code { return "\(status) \(code)" }
        return "\(status)"
    }

    public static func < (lhs: Answer, rhs: Answer) -> Bool {
        (lhs.status, lhs.code ?? "", lhs.error ?? "") < (rhs.status, rhs.code ?? "", rhs.error ?? "")
    }
}

public struct EndpointResult: Sendable, Codable, Equatable {
    public var endpoint: Endpoint
    public var answer: Answer
    /// From the scheduled send time to the answer's last byte (open loop: a stall counts in full).
    public var latency: LatencyHistogram

    public init(endpoint: Endpoint, answer: Answer, latency: LatencyHistogram) {
        self.endpoint = endpoint
        self.answer = answer
        self.latency = latency
    }
}

/// One second of the run.
public struct TimelineSecond: Sendable, Codable, Equatable {
    /// Seconds since the first scheduled send.
    public var second: Int
    /// Answers that arrived in this second, by status ("201", "409", …; "0" for no answer).
    public var statuses: [String: UInt64]
    /// Latency of the requests answered in this second, all endpoints.
    public var latency: LatencyHistogram
    /// Purchase-path latency (checkout tokens and orders) answered in this second.
    public var purchaseLatency: LatencyHistogram
    /// Units left per SKU in Redis, sampled once in this second (absent when not sampled).
    public var stock: [String: Int64]

    public init(
        second: Int, statuses: [String: UInt64] = [:], latency: LatencyHistogram = LatencyHistogram(significantDigits: 2),
        purchaseLatency: LatencyHistogram = LatencyHistogram(significantDigits: 2), stock: [String: Int64] = [:]
    ) {
        self.second = second
        self.statuses = statuses
        self.latency = latency
        self.purchaseLatency = purchaseLatency
        self.stock = stock
    }

    public var requests: UInt64 { statuses.values.reduce(0, +) }
}

/// Whether the generator kept its own schedule: how late requests left compared with their plan.
public struct GeneratorHealth: Sendable, Codable, Equatable {
    /// Lateness of every send against its schedule.
    public var sendLag: LatencyHistogram
    /// Sends that left more than `lateThresholdMilliseconds` after their scheduled time.
    public var lateSends: UInt64
    public var lateThresholdMilliseconds: Double
    /// Every request from the moment it actually left to its answer: what a closed-loop tool such
    /// as wrk reports. The difference from the latency of the results is the generator's own lag
    /// and any queueing for a connection.
    public var answerTime: LatencyHistogram

    public init(
        sendLag: LatencyHistogram = LatencyHistogram(), lateSends: UInt64 = 0, lateThresholdMilliseconds: Double = 10,
        answerTime: LatencyHistogram = LatencyHistogram()
    ) {
        self.sendLag = sendLag
        self.lateSends = lateSends
        self.lateThresholdMilliseconds = lateThresholdMilliseconds
        self.answerTime = answerTime
    }

    /// Behind schedule enough that the figures measure the generator as much as the service.
    public var fellBehind: Bool {
        sendLag.count > 0 && Double(lateSends) / Double(sendLag.count) > 0.01
    }
}

/// The generator's own ceiling on this machine: `GET /healthz` at the same open-loop schedule.
public struct Calibration: Sendable, Codable, Equatable {
    public struct Step: Sendable, Codable, Equatable {
        public var targetRate: Double
        public var achievedRate: Double
        public var latency: LatencyHistogram
        public var lateSends: UInt64
        public var requests: UInt64
        /// From each request's actual send to its answer, as wrk measures.
        public var answerTime: LatencyHistogram

        public init(
            targetRate: Double, achievedRate: Double, latency: LatencyHistogram, lateSends: UInt64, requests: UInt64,
            answerTime: LatencyHistogram = LatencyHistogram()
        ) {
            self.targetRate = targetRate
            self.achievedRate = achievedRate
            self.latency = latency
            self.lateSends = lateSends
            self.requests = requests
            self.answerTime = answerTime
        }
    }

    /// The highest rate held: answered at ≥ 95% of its schedule with ≤ 1% of sends late; 0 when
    /// not even the lowest rate tried was held (a machine busy with something else).
    public var ceilingPerSecond: Double
    public var steps: [Step]

    /// "4000 requests/s", or what the lowest rate tried was when none was held.
    public var ceilingText: String {
        if ceilingPerSecond > 0 { return String(format: "%.0f requests/s", ceilingPerSecond) }
        let lowest = steps.map(\.targetRate).min() ?? 0
        return String(format: "below %.0f requests/s (no rate tried was held)", lowest)
    }

    public init(ceilingPerSecond: Double, steps: [Step]) {
        self.ceilingPerSecond = ceilingPerSecond
        self.steps = steps
    }
}

/// One rate of the latency–throughput sweep.
public struct SweepPoint: Sendable, Codable, Equatable {
    /// Purchase attempts (checkout token, then order) started per second.
    public var targetRate: Double
    /// Order answers per second received.
    public var achievedRate: Double
    /// Latency of the order POSTs at this rate, from their scheduled send.
    public var latency: LatencyHistogram
    public var statuses: [String: UInt64]
    public var lateSends: UInt64

    public init(
        targetRate: Double, achievedRate: Double, latency: LatencyHistogram, statuses: [String: UInt64], lateSends: UInt64
    ) {
        self.targetRate = targetRate
        self.achievedRate = achievedRate
        self.latency = latency
        self.statuses = statuses
        self.lateSends = lateSends
    }
}

public struct CreatedOrder: Sendable, Codable, Equatable, Hashable {
    public var orderID: String
    public var checkoutToken: String
    public var shopperID: String
    public var sku: String
    public var quantity: Int

    public init(orderID: String, checkoutToken: String, shopperID: String, sku: String, quantity: Int) {
        self.orderID = orderID
        self.checkoutToken = checkoutToken
        self.shopperID = shopperID
        self.sku = sku
        self.quantity = quantity
    }
}

public struct LostAnswer: Sendable, Codable, Equatable, Hashable {
    public var checkoutToken: String
    public var shopperID: String
    public var reason: String

    public init(checkoutToken: String, shopperID: String, reason: String) {
        self.checkoutToken = checkoutToken
        self.shopperID = shopperID
        self.reason = reason
    }
}

/// The audit of both stores after the run; the run fails when any check does.
public struct AuditResult: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        public var passed: Bool
        /// What was counted, and for a failure, what broke (the SKU, the token, the order).
        public var detail: String

        public init(name: String, passed: Bool, detail: String) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }
    }

    public var checks: [Check]

    public init(checks: [Check]) { self.checks = checks }

    public var passed: Bool { checks.allSatisfy(\.passed) }
}
