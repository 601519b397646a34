import Synchronization

/// Collects every answer of a run as it arrives: latency per endpoint and answer, the per-second
/// timeline, the generator's lateness and the orders the audit will look for. Shared by all the
/// run's tasks; each record is a few dictionary updates under one lock.
public final class RunRecorder: Sendable {
    struct Key: Hashable {
        let endpoint: Endpoint
        let answer: Answer
    }

    struct State {
        var results: [Key: LatencyHistogram] = [:]
        var seconds: [Int: TimelineSecond] = [:]
        var generator = GeneratorHealth()
        var createdOrders: [CreatedOrder] = []
        var lostAnswers: [LostAnswer] = []
        var lastAnswer: Duration = .zero
        /// Answers of each endpoint per second of the run.
        var answersPerSecond: [Endpoint: [Int: UInt64]] = [:]
    }

    private let state = Mutex(State())
    /// The run's time zero: seconds of the timeline and send ticks count from it.
    let start: ContinuousClock.Instant
    private let sentCount = Atomic<Int>(0)
    private let answeredCount = Atomic<Int>(0)
    let arrivalsStarted = Atomic<Int>(0)
    let arrivalsFinished = Atomic<Bool>(false)

    public init(start: ContinuousClock.Instant) {
        self.start = start
    }

    /// A request left `lag` after its scheduled time.
    public func sent(lag: Duration) {
        sentCount.add(1, ordering: .relaxed)
        state.withLock { state in
            state.generator.sendLag.record(lag)
            if lag > .milliseconds(Int64(state.generator.lateThresholdMilliseconds)) {
                state.generator.lateSends += 1
            }
        }
    }

    /// An answer (or its absence) to a request scheduled for `scheduled`, known at `now`.
    public func answered(
        _ endpoint: Endpoint, _ answer: Answer, scheduled: ContinuousClock.Instant, sent: ContinuousClock.Instant,
        now: ContinuousClock.Instant
    ) {
        let latency = now - scheduled
        let second = max(0, Int((now - start).components.seconds))
        answeredCount.add(1, ordering: .relaxed)
        state.withLock { state in
            state.results[Key(endpoint: endpoint, answer: answer), default: LatencyHistogram()].record(latency)
            state.generator.answerTime.record(now - sent)
            var entry = state.seconds[second] ?? TimelineSecond(second: second)
            entry.statuses[String(answer.status), default: 0] += 1
            entry.latency.record(latency)
            if endpoint == .order || endpoint == .checkoutToken { entry.purchaseLatency.record(latency) }
            state.seconds[second] = entry
            state.lastAnswer = max(state.lastAnswer, now - start)
            state.answersPerSecond[endpoint, default: [:]][second, default: 0] += 1
        }
    }

    public func created(_ order: CreatedOrder) {
        state.withLock { $0.createdOrders.append(order) }
    }

    public func lost(_ answer: LostAnswer) {
        state.withLock { $0.lostAnswers.append(answer) }
    }

    /// Answers of `endpoint` per second over the whole seconds `window` of the run: a steady
    /// state, without the ramp-up of the first second or the stragglers after the schedule.
    func answerRate(_ endpoint: Endpoint, window: Range<Int>) -> Double {
        guard !window.isEmpty else { return 0 }
        let counts = state.withLock { $0.answersPerSecond[endpoint] ?? [:] }
        return Double(window.reduce(0) { $0 + (counts[$1] ?? 0) }) / Double(window.count)
    }

    /// Units left per SKU, sampled at `now`.
    public func stock(_ units: [String: Int64], now: ContinuousClock.Instant) {
        let second = max(0, Int((now - start).components.seconds))
        state.withLock { state in
            var entry = state.seconds[second] ?? TimelineSecond(second: second)
            entry.stock = units
            state.seconds[second] = entry
        }
    }

    /// One line for the terminal while the run goes: where it is, what the service answers this
    /// second, and whether the generator keeps up.
    func progressLine(now: ContinuousClock.Instant, planned: Int) -> String {
        let elapsed = Int((now - start).components.seconds)
        let sent = sentCount.load(ordering: .relaxed)
        let answered = answeredCount.load(ordering: .relaxed)
        return state.withLock { state in
            let last = state.seconds[max(0, elapsed - 1)] ?? TimelineSecond(second: elapsed - 1)
            let statuses = last.statuses.sorted { $0.key < $1.key }.map { "\($0.key == "0" ? "lost" : $0.key) \($0.value)" }
                .joined(separator: " ")
            let stock = last.stock.values.reduce(0, +)
            return String(
                format: "%4ds  arrivals %d/%d  in flight %d  last second: %@  p99 %.1f ms  stock %lld  send lag p99 %.1f ms",
                elapsed, arrivalsStarted.load(ordering: .relaxed), planned, sent - answered,
                statuses.isEmpty ? "-" : statuses, last.latency.milliseconds(atPercentile: 99), stock,
                state.generator.sendLag.milliseconds(atPercentile: 99))
        }
    }

    /// What was recorded, written into `report`.
    public func fill(_ report: inout LoadReport) {
        state.withLock { state in
            report.results = state.results.map {
                EndpointResult(endpoint: $0.key.endpoint, answer: $0.key.answer, latency: $0.value)
            }
            .sorted { ($0.endpoint, $0.answer) < ($1.endpoint, $1.answer) }
            let last = state.seconds.keys.max() ?? -1
            report.timeline = last < 0 ? [] : (0...last).map { state.seconds[$0] ?? TimelineSecond(second: $0) }
            report.generator = state.generator
            report.createdOrders = state.createdOrders
            report.lostAnswers = state.lostAnswers
            report.seconds = state.lastAnswer.seconds
        }
    }
}
