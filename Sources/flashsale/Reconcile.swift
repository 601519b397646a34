import ArgumentParser
import FlashSale
import Foundation

struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a sale's Redis stock with PostgreSQL; --repair rewrites Redis from PostgreSQL.",
        discussion: """
            For each SKU, Redis should hold PostgreSQL's available units minus those in checkout right \
            now (reserved in Redis, order not committed yet: the reservation ledger) minus units of \
            cancelled orders whose Redis release is still queued. Prints the SKUs that differ and \
            exits 1 if any do (or if per-shopper purchase counts differ); 0 when Redis matches.

            --repair rewrites each differing stock key and per-shopper count from PostgreSQL, the \
            stock of record. It also rebuilds a sale after Redis lost its data. It is safe while \
            the sale is selling: a SKU is compared, and rewritten, only if no purchase, give-back \
            or release touched it since its figures were read; otherwise it is read again after a \
            short pause. A SKU that keeps selling through four attempts is fenced for the next \
            ones: for those milliseconds its purchases that would win answer 503 and keep their \
            checkout token for the retry.
            """)

    @Option(help: "The sale to compare.")
    var sale: String

    @Flag(help: "Rewrite Redis from PostgreSQL where they differ.")
    var repair = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: false)
            let logger = try AppLogger.make("flashsale.reconcile")
            let saleID = sale
            let mode: StockReconciler.Mode = repair ? .repair : .check
            let report = try await Stores.with(configuration, logger: logger) { postgres, redis in
                let exists = try await postgres.query("SELECT 1 FROM sales WHERE id = \(saleID)", logger: logger)
                    .decode(Int32.self).collectAll()
                guard !exists.isEmpty else { throw CommandFailure("no sale \(saleID)") }
                return try await StockReconciler(postgres: postgres, redis: redis, logger: logger)
                    .run(saleID: saleID, mode: mode)
            }
            print(Self.render(report, saleID: saleID, repaired: repair))
            if !report.busySKUs.isEmpty || (!repair && !report.isClean) { throw ExitCode(1) }
        }
    }

    static func render(_ report: ReconcileReport, saleID: String, repaired: Bool) -> String {
        var lines: [String] = []
        if report.differenceCount > 0 {
            var table = TextTable(
                "sku", "postgres available", "in checkout", "releases queued", "redis expected", "redis", "difference")
            for difference in report.differences {
                table.add([
                    difference.sku, "\(difference.postgresAvailable)", "\(difference.inCheckout)",
                    "\(difference.releasesPending)", "\(difference.expectedRedis)",
                    difference.redis.map { "\($0)" } ?? "missing",
                    difference.redis.map { "\($0 - difference.expectedRedis)" } ?? "-",
                ])
            }
            lines.append(table.rendered)
            if report.differenceCount > report.differences.count {
                lines.append("… and \(report.differenceCount - report.differences.count) more SKUs")
            }
        }
        let verb = repaired ? "repaired" : "differ"
        lines.append(
            "sale \(saleID): \(report.skusCompared) SKUs compared; stock of \(report.differenceCount) \(verb); per-shopper counts of \(report.countsDiffering) \(verb)"
        )
        if report.fencedSKUs > 0 {
            lines.append("\(report.fencedSKUs) SKUs kept selling and were compared behind a fence")
        }
        if !report.busySKUs.isEmpty {
            lines.append(
                "\(report.busySKUs.count) SKUs changed during every attempt (selling right now) and were not judged: \(report.busySKUs.prefix(10).joined(separator: ", ")); run again"
            )
        } else if report.isClean || repaired {
            lines.append("Redis matches PostgreSQL")
        }
        return lines.joined(separator: "\n")
    }
}
