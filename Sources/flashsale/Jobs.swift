import ArgumentParser
import FlashSale
import FlashSaleWorker
import Foundation

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the worker's job queue; list dead jobs; re-queue them.",
        discussion: """
            Jobs are written by the service in the transactions they follow (order expiry at pay_by, \
            e-mails, Redis releases) and run by `flashsale worker`. A job that failed max_attempts \
            times, or that no retry can fix, is dead: kept with its last error until re-queued.
            """,
        subcommands: [Status.self, Dead.self, Requeue.self],
        defaultSubcommand: Status.self)

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts by kind and status, and how long the oldest due job has waited (the default).")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingFailures {
                let configuration = try connection.configuration(requireSecret: false)
                let logger = try AppLogger.make("flashsale.jobs")
                let counts = try await Stores.withPostgres(configuration, maxConnections: 1, logger: logger) { postgres in
                    try await JobsOverview(postgres: postgres, logger: logger).counts()
                }
                print(Self.render(counts))
            }
        }

        static func render(_ counts: JobsOverview.Counts) -> String {
            let statuses = JobsOverview.statuses
            var table = TextTable("kind", "pending", "running", "done", "dead")
            for kind in Array(Set(counts.counts.map(\.kind))).sorted() {
                table.add(
                    [kind]
                        + statuses.map { status in
                            "\(counts.counts.first { $0.kind == kind && $0.status == status }?.count ?? 0)"
                        })
            }
            var lines = counts.counts.isEmpty ? ["no jobs"] : [table.rendered]
            if let age = counts.oldestDueAge {
                lines.append(String(format: "oldest due job waiting %.1f s", age))
            } else {
                lines.append("no job is due")
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Dead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead jobs, newest first, with their last error.")

        @Option(help: "At most this many.")
        var limit = 50

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try connection.configuration(requireSecret: false)
                let logger = try AppLogger.make("flashsale.jobs")
                let limit = limit
                let dead = try await Stores.withPostgres(configuration, maxConnections: 1, logger: logger) { postgres in
                    try await JobsOverview(postgres: postgres, logger: logger).dead(limit: limit)
                }
                guard !dead.isEmpty else {
                    print("no dead jobs")
                    return
                }
                var table = TextTable("id", "kind", "attempts", "died at", "last error", "payload")
                let format = ISO8601DateFormatter()
                for job in dead {
                    table.add([
                        "\(job.id)", job.kind, "\(job.attempts)", format.string(from: job.diedAt),
                        String((job.lastError ?? "-").prefix(80)), String(job.payload.prefix(100)),
                    ])
                }
                print(table.rendered)
            }
        }
    }

    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make dead jobs due again now, with their attempts reset.",
            discussion: "Give job ids (from `flashsale jobs dead`), or --all for every dead job.")

        @Argument(help: "Ids of dead jobs.")
        var ids: [Int64] = []

        @Flag(help: "Every dead job.")
        var all = false

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("give job ids, or --all (not both)") }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try connection.configuration(requireSecret: false)
                let logger = try AppLogger.make("flashsale.jobs")
                let ids = all ? nil : self.ids
                let count = try await Stores.withPostgres(configuration, maxConnections: 1, logger: logger) { postgres in
                    try await JobsOverview(postgres: postgres, logger: logger).requeue(ids: ids)
                }
                print("re-queued \(count) dead job\(count == 1 ? "" : "s")")
                if let ids, count < ids.count {
                    let missing = ids.count - count
                    throw CommandFailure(
                        missing == 1 ? "1 of the ids is not a dead job" : "\(missing) of the ids are not dead jobs")
                }
            }
        }
    }
}
