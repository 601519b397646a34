import Foundation
import Metrics

/// What the worker reports at its `/metrics` (swift-metrics; the command bootstraps Prometheus).
public struct WorkerMetrics: Sendable {
    public init() {}

    func finished(_ job: LeasedJob, _ outcome: JobOutcome, at now: Date = Date()) {
        let kind = [("kind", job.kind)]
        switch outcome {
        case .done:
            Counter(label: "flashsale_jobs_completed_total", dimensions: kind).increment()
            // Due → done: how far behind its schedule the queue runs.
            Timer(label: "flashsale_job_latency_seconds", dimensions: kind, preferredDisplayUnit: .seconds)
                .record(duration: .milliseconds(max(0, Int64(now.timeIntervalSince(job.runAt) * 1000))))
        case .failed:
            Counter(label: "flashsale_job_failures_total", dimensions: kind).increment()
            if job.attempts >= job.maxAttempts { Counter(label: "flashsale_jobs_dead_total", dimensions: kind).increment() }
        case .dead:
            Counter(label: "flashsale_job_failures_total", dimensions: kind).increment()
            Counter(label: "flashsale_jobs_dead_total", dimensions: kind).increment()
        case .postponed:
            Counter(label: "flashsale_jobs_postponed_total", dimensions: kind).increment()
        }
        Counter(label: "flashsale_job_attempts_total", dimensions: kind).increment()
    }

    func emailSent() { Counter(label: "flashsale_emails_sent_total").increment() }

    /// A sender told to wait for its rate-limit permit (the limiter's `onWait`).
    public func rateLimitWait() { Counter(label: "flashsale_email_rate_limit_waits_total").increment() }

    /// 0 closed, 1 open, 2 half-open.
    public func breakerState(_ state: Int) {
        Gauge(label: "flashsale_email_breaker_state").record(state)
    }

    func queueDepth(kind: String, status: String, count: Int) {
        Gauge(label: "flashsale_jobs", dimensions: [("kind", kind), ("status", status)]).record(count)
    }

    func oldestDueAge(seconds: Double) { Gauge(label: "flashsale_jobs_oldest_due_age_seconds").record(seconds) }

    func ledgerSwept(finalized: Int, givenBack: Int) {
        Counter(label: "flashsale_ledger_entries_swept_total", dimensions: [("outcome", "finalized")]).increment(by: finalized)
        Counter(label: "flashsale_ledger_entries_swept_total", dimensions: [("outcome", "given_back")]).increment(by: givenBack)
    }

    func reprimed() { Counter(label: "flashsale_sales_reprimed_total").increment() }
}
