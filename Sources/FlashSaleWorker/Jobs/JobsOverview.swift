import Foundation
import Logging
import PostgresNIO

/// The queue as an operator sees it (`flashsale jobs`, the worker's gauges): counts, dead jobs,
/// and re-queueing them.
public struct JobsOverview: Sendable {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    /// A job's life: pending → running → deleted when done, or dead. `done` is a status of the schema
    /// that nothing writes now; such rows are pruned.
    public static let statuses = ["pending", "running", "done", "dead"]

    public struct Count: Sendable, Equatable {
        public let kind: String
        public let status: String
        public let count: Int
    }

    public struct Counts: Sendable {
        public let counts: [Count]
        /// How long the oldest due pending job has been waiting, in seconds; nil when none is due.
        public let oldestDueAge: Double?
    }

    public func counts() async throws -> Counts {
        let counts = try await postgres.query(
            "SELECT kind, status, count(*)::bigint FROM jobs GROUP BY kind, status ORDER BY kind, status", logger: logger
        ).decode((String, String, Int64).self).collectAll().map { Count(kind: $0.0, status: $0.1, count: Int($0.2)) }
        // Per kind, so each is one step down `jobs_due` (kind, run_at).
        let kinds = Array(Set(counts.filter { $0.status == "pending" }.map(\.kind)))
        let oldest =
            try await postgres.query(
                """
                SELECT max(extract(epoch FROM now() - due)::float8) FROM unnest(\(kinds)::text[]) AS k(kind),
                    LATERAL (SELECT run_at AS due FROM jobs WHERE status = 'pending' AND jobs.kind = k.kind AND run_at <= now()
                             ORDER BY run_at LIMIT 1) AS first
                """, logger: logger
            ).decode(Double?.self).collectAll().first ?? nil
        return Counts(counts: counts, oldestDueAge: oldest)
    }

    public struct DeadJob: Sendable, Equatable {
        public let id: Int64
        public let kind: String
        public let attempts: Int
        public let lastError: String?
        public let payload: String
        public let diedAt: Date
    }

    public func dead(limit: Int) async throws -> [DeadJob] {
        try await postgres.query(
            """
            SELECT id, kind, attempts, last_error, payload::text, updated_at FROM jobs WHERE status = 'dead'
            ORDER BY updated_at DESC LIMIT \(limit)
            """, logger: logger
        ).decode((Int64, String, Int32, String?, String, Date).self).collectAll().map {
            DeadJob(id: $0.0, kind: $0.1, attempts: Int($0.2), lastError: $0.3, payload: $0.4, diedAt: $0.5)
        }
    }

    /// Dead jobs due again now with fresh attempts (their last error kept): `ids`, or all with nil.
    /// Answers how many.
    public func requeue(ids: [Int64]?) async throws -> Int {
        try await postgres.query(
            """
            UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), updated_at = now()
            WHERE status = 'dead' AND (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)::bigint[]))
            RETURNING id
            """, logger: logger
        ).decode(Int64.self).collectAll().count
    }
}
