import FlashSale
import Foundation
import Logging
import PostgresNIO

/// The `jobs` table as a queue. Workers lease due jobs in batches with `FOR UPDATE SKIP LOCKED`
/// (so two workers never lease one job) and record each outcome only while they still hold the
/// lease (`lease_owner`), so a worker whose lease ran out cannot overwrite the next holder's work.
/// A lease that runs out (its worker died) is taken back by ``reclaimExpiredLeases()``.
public struct JobQueue: Sendable {
    let postgres: PostgresClient
    /// This worker process, as `lease_owner` names it.
    public let owner: String
    public let leaseDuration: Duration
    public let backoff: RetryBackoff
    let logger: Logger

    public init(
        postgres: PostgresClient, owner: String = JobQueue.defaultOwner(), leaseDuration: Duration = .seconds(30),
        backoff: RetryBackoff = RetryBackoff(), logger: Logger
    ) {
        self.postgres = postgres
        self.owner = owner
        self.leaseDuration = leaseDuration
        self.backoff = backoff
        self.logger = logger
    }

    /// Host, process and a random part: unique across restarts and machines.
    public static func defaultOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Up to `limit` due jobs of `kind`, oldest first, leased to this worker; or, with `kind` nil,
    /// of any kind not in `excluding` (kinds no handler knows).
    public func lease(limit: Int, kind: String?, excluding: [String] = []) async throws -> [LeasedJob] {
        var bindings = PostgresBindings(capacity: 4)
        let filter: String
        if let kind {
            bindings.append(kind)
            filter = "kind = $1"
        } else {
            bindings.append(excluding)
            filter = "kind <> ALL($1::text[])"
        }
        bindings.append(limit)
        bindings.append(owner)
        bindings.append(leaseDuration.totalSeconds)
        // Two texts rather than one with an OR, so each has a plan that walks `jobs_due` for its kind.
        let rows = try await postgres.query(
            PostgresQuery(
                unsafeSQL: """
                    WITH due AS (
                        SELECT id FROM jobs
                        WHERE status = 'pending' AND \(filter) AND run_at <= now()
                        ORDER BY run_at LIMIT $2
                        FOR UPDATE SKIP LOCKED
                    )
                    UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, lease_owner = $3,
                           leased_until = now() + make_interval(secs => $4), updated_at = now()
                    FROM due WHERE jobs.id = due.id
                    RETURNING jobs.id, jobs.kind, jobs.payload::text, jobs.attempts, jobs.max_attempts, jobs.run_at
                    """, binds: bindings), logger: logger)
        var jobs: [LeasedJob] = []
        for try await (id, kind, payload, attempts, maxAttempts, runAt) in rows.decode(
            (Int64, String, String, Int32, Int32, Date).self)
        {
            jobs.append(
                LeasedJob(
                    id: id, kind: kind, payload: payload, attempts: Int(attempts), maxAttempts: Int(maxAttempts),
                    runAt: runAt))
        }
        return jobs
    }

    /// Records the outcomes of jobs this worker holds. Finished jobs are deleted in one statement.
    public func record(_ outcomes: [(job: LeasedJob, outcome: JobOutcome)]) async throws {
        var finished: [Int64] = []
        for (job, outcome) in outcomes {
            switch outcome {
            case .done:
                finished.append(job.id)
            case .failed(let error, let after):
                let dead = job.attempts >= job.maxAttempts
                let delay = after ?? backoff.delay(afterAttempt: job.attempts)
                try await settle(job.id, status: dead ? "dead" : "pending", after: delay, error: error, uncount: false)
                if dead { logger.error("job dead", metadata: Self.metadata(job, error)) }
            case .dead(let error):
                try await settle(job.id, status: "dead", after: .zero, error: error, uncount: false)
                logger.error("job dead", metadata: Self.metadata(job, error))
            case .postponed(let delay):
                try await settle(job.id, status: "pending", after: delay, error: nil, uncount: true)
            }
        }
        if !finished.isEmpty {
            try await postgres.query(
                "DELETE FROM jobs WHERE id = ANY(\(finished)) AND lease_owner = \(owner) AND status = 'running'",
                logger: logger)
        }
    }

    /// Extends the leases of jobs this worker still holds, while their run goes on.
    public func renew(_ jobs: [LeasedJob]) async throws {
        try await postgres.query(
            """
            UPDATE jobs SET leased_until = now() + make_interval(secs => \(leaseDuration.totalSeconds))
            WHERE id = ANY(\(jobs.map(\.id))) AND lease_owner = \(owner) AND status = 'running'
            """, logger: logger)
    }

    /// Gives leased jobs back unrun (shutdown): due at once for another worker, in their place in
    /// the queue (`run_at` kept), the attempt not counted.
    public func handBack(_ jobs: [LeasedJob]) async throws {
        guard !jobs.isEmpty else { return }
        try await postgres.query(
            """
            UPDATE jobs SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = NULL,
                   leased_until = NULL, updated_at = now()
            WHERE id = ANY(\(jobs.map(\.id))) AND lease_owner = \(owner) AND status = 'running'
            """, logger: logger)
    }

    private func settle(_ id: Int64, status: String, after: Duration, error: String?, uncount: Bool) async throws {
        try await postgres.query(
            """
            UPDATE jobs SET status = \(status), run_at = now() + make_interval(secs => \(after.totalSeconds)),
                   last_error = coalesce(\(error), last_error), lease_owner = NULL, leased_until = NULL,
                   attempts = CASE WHEN \(uncount) THEN greatest(attempts - 1, 0) ELSE attempts END, updated_at = now()
            WHERE id = \(id) AND lease_owner = \(owner) AND status = 'running'
            """, logger: logger)
    }

    /// Jobs whose worker died (its lease ran out) are due again, in their place in the queue (`run_at`
    /// kept: they were due before the backlog behind them); those that used up their attempts are
    /// dead (a job that kills its worker every time must not kill every worker in turn).
    @discardableResult
    public func reclaimExpiredLeases() async throws -> Int {
        try await postgres.query(
            """
            UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
                   last_error = 'lease of ' || coalesce(lease_owner, '?') || ' ran out (worker stopped or stuck)',
                   lease_owner = NULL, leased_until = NULL, updated_at = now()
            WHERE status = 'running' AND leased_until < now()
            RETURNING id
            """, logger: logger
        ).decode(Int64.self).collectAll().count
    }

    /// Deletes jobs marked done more than `olderThan` ago. Nothing writes `done` any more (a worker
    /// deletes what it finished, and so does the release right after a cancel or an expiry); rows
    /// from before that, or marked by hand, still go.
    @discardableResult
    public func pruneFinished(olderThan age: Duration) async throws -> Int {
        try await postgres.query(
            """
            DELETE FROM jobs WHERE status = 'done' AND updated_at < now() - make_interval(secs => \(age.totalSeconds))
            RETURNING id
            """, logger: logger
        ).decode(Int64.self).collectAll().count
    }

    static func metadata(_ job: LeasedJob, _ error: String) -> Logger.Metadata {
        ["job": "\(job.id)", "kind": "\(job.kind)", "attempts": "\(job.attempts)", "error": "\(error)"]
    }
}

extension Duration {
    /// Whole and fractional seconds, as PostgreSQL's `make_interval(secs => …)` takes them.
    var totalSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
