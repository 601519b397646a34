import FlashSale
import FlashSaleTestSupport
import FlashSaleWorker
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite struct JobQueueTests {
    static let logger = Logger(label: "job-queue-test")

    func withQueueDatabase(_ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: Self.logger).migrate(try TestDatabase.migrations)
            try await body(postgres)
        }
    }

    func insertNoops(_ count: Int, into postgres: PostgresClient, maxAttempts: Int32 = 10) async throws {
        try await postgres.query(
            """
            INSERT INTO jobs (kind, payload, max_attempts)
            SELECT 'noop', jsonb_build_object('n', n), \(maxAttempts) FROM generate_series(1, \(count)) AS n
            """, logger: Self.logger)
    }

    func count(_ postgres: PostgresClient, _ condition: String = "true") async throws -> Int {
        Int(
            try await postgres.query(
                PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM jobs WHERE \(condition)"), logger: Self.logger
            )
            .decode(Int64.self).collectAll()[0])
    }

    @Test func twoWorkersLeasingAtOnceNeverHoldOneJob() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(2_000, into: postgres)
            let queues = ["worker-a", "worker-b"].map { JobQueue(postgres: postgres, owner: $0, logger: Self.logger) }
            let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for queue in queues {
                    for _ in 0..<3 {
                        group.addTask {
                            var leased: [Int64] = []
                            while true {
                                let jobs = try await queue.lease(limit: 37, kind: "noop")
                                if jobs.isEmpty { return leased }
                                leased += jobs.map(\.id)
                                try await queue.record(jobs.map { (job: $0, outcome: .done) })
                            }
                        }
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0 += $1 }
            }
            #expect(ids.count == 2_000)
            #expect(Set(ids).count == 2_000, "a job was leased twice")
            #expect(try await count(postgres) == 0, "finished jobs are deleted")
        }
    }

    @Test func aFailedJobComesBackAfterABackOffThenDiesAndCanBeRequeued() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(1, into: postgres, maxAttempts: 2)
            let queue = JobQueue(
                postgres: postgres, owner: "w", backoff: RetryBackoff(base: .seconds(60), ceiling: .seconds(60)),
                logger: Self.logger)
            let first = try await queue.lease(limit: 10, kind: "noop")
            #expect(first.map(\.attempts) == [1])
            try await queue.record([(job: first[0], outcome: .failed("provider said 503"))])
            #expect(try await count(postgres, "status = 'pending' AND attempts = 1 AND last_error = 'provider said 503'") == 1)
            #expect(try await count(postgres, "run_at > now() + interval '29 seconds'") == 1, "backed off")
            #expect(try await queue.lease(limit: 10, kind: "noop").isEmpty, "not due during its back-off")

            try await postgres.query("UPDATE jobs SET run_at = now()", logger: Self.logger)
            let second = try await queue.lease(limit: 10, kind: "noop")
            #expect(second.map(\.attempts) == [2])
            try await queue.record([(job: second[0], outcome: .failed("still 503"))])
            #expect(try await count(postgres, "status = 'dead' AND last_error = 'still 503'") == 1)

            let overview = JobsOverview(postgres: postgres, logger: Self.logger)
            #expect(try await overview.dead(limit: 10).map(\.lastError) == ["still 503"])
            #expect(try await overview.requeue(ids: nil) == 1)
            #expect(try await queue.lease(limit: 10, kind: "noop").map(\.attempts) == [1])
        }
    }

    @Test func aPermanentFailureIsDeadAtOnce() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(1, into: postgres)
            let queue = JobQueue(postgres: postgres, owner: "w", logger: Self.logger)
            let jobs = try await queue.lease(limit: 1, kind: "noop")
            try await queue.record([(job: jobs[0], outcome: .dead("400 bad address"))])
            #expect(try await count(postgres, "status = 'dead' AND attempts = 1") == 1)
        }
    }

    @Test func aLeaseThatRanOutIsTakenBackAndItsOldHolderCannotRecordIt() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(1, into: postgres)
            let stuck = JobQueue(postgres: postgres, owner: "stuck", leaseDuration: .milliseconds(100), logger: Self.logger)
            let next = JobQueue(postgres: postgres, owner: "next", logger: Self.logger)
            let held = try await stuck.lease(limit: 1, kind: "noop")
            #expect(try await next.reclaimExpiredLeases() == 0, "not before the lease runs out")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await next.reclaimExpiredLeases() == 1)
            let again = try await next.lease(limit: 1, kind: "noop")
            #expect(again.map(\.id) == held.map(\.id))
            #expect(again.first?.attempts == 2)

            try await stuck.record([(job: held[0], outcome: .done)])
            #expect(
                try await count(postgres, "status = 'running' AND lease_owner = 'next'") == 1, "the old holder changed nothing")
            try await next.record([(job: again[0], outcome: .done)])
            #expect(try await count(postgres) == 0)
        }
    }

    @Test func aJobThatKeepsKillingItsWorkerEndsDead() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(1, into: postgres, maxAttempts: 1)
            let queue = JobQueue(postgres: postgres, owner: "dies", leaseDuration: .milliseconds(50), logger: Self.logger)
            _ = try await queue.lease(limit: 1, kind: "noop")
            try await Task.sleep(for: .milliseconds(120))
            try await queue.reclaimExpiredLeases()
            #expect(try await count(postgres, "status = 'dead' AND last_error LIKE 'lease of dies ran out%'") == 1)
        }
    }

    @Test func handedBackAndPostponedJobsKeepTheirAttempts() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(2, into: postgres)
            let queue = JobQueue(postgres: postgres, owner: "w", logger: Self.logger)
            let jobs = try await queue.lease(limit: 2, kind: "noop")
            try await queue.handBack([jobs[0]])
            try await queue.record([(job: jobs[1], outcome: .postponed(.seconds(30)))])
            #expect(try await count(postgres, "status = 'pending' AND attempts = 0 AND lease_owner IS NULL") == 2)
            #expect(try await queue.lease(limit: 2, kind: "noop").map(\.id) == [jobs[0].id], "the postponed one is not due")
        }
    }

    @Test func finishedJobsArePrunedAfterTheirRetention() async throws {
        try await withQueueDatabase { postgres in
            try await insertNoops(3, into: postgres)
            try await postgres.query(
                "UPDATE jobs SET status = 'done', updated_at = now() - interval '2 hours' WHERE id IN (SELECT min(id) FROM jobs)",
                logger: Self.logger)
            try await postgres.query(
                "UPDATE jobs SET status = 'done' WHERE id IN (SELECT max(id) FROM jobs)", logger: Self.logger)
            let queue = JobQueue(postgres: postgres, owner: "w", logger: Self.logger)
            #expect(try await queue.pruneFinished(olderThan: .seconds(3600)) == 1)
            #expect(try await count(postgres) == 2)
        }
    }

    @Test func kindsNoLaneServesAreLeasedByTheCatchAllLane() async throws {
        try await withQueueDatabase { postgres in
            try await postgres.query(
                "INSERT INTO jobs (kind, payload) VALUES ('mystery', '{}')", logger: Self.logger)
            let queue = JobQueue(postgres: postgres, owner: "w", logger: Self.logger)
            #expect(try await queue.lease(limit: 10, kind: "noop").isEmpty)
            let others = try await queue.lease(limit: 10, kind: nil, excluding: ["noop", "email"])
            #expect(others.map(\.kind) == ["mystery"])
        }
    }
}
