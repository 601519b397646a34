import ArgumentParser
import Foundation
import LoadTestKit

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit sales in PostgreSQL and Redis: no oversell, one order per token, limits held, the stores agree.",
        discussion: """
            With --report, also matches the run's answers: every 201 is a committed order with
            the same id, and every order was answered 201 or its answer was lost.
            `make bench` uses it after its own runs (with --expect-orders, the 201s the service
            counted in /metrics).
            """)

    @Option(help: "A sale id; repeatable. Default: the sale of --report.")
    var sale: [String] = []

    @Option(help: "A report.json whose answers to match (its sale is audited).")
    var report: String?

    @Option(name: .customLong("expect-orders"), help: "The sale must hold exactly this many orders (one --sale).")
    var expectOrders: Int?

    @Option(help: "Seconds to wait for the worker past the last due order.")
    var settle = 30

    @OptionGroup var stores: StoreOptions

    func validate() throws {
        guard !sale.isEmpty || report != nil else { throw ValidationError("give --sale or --report") }
        guard expectOrders == nil || sale.count + (report == nil ? 0 : 1) == 1 else {
            throw ValidationError("--expect-orders needs exactly one sale")
        }
        guard settle >= 0 else { throw ValidationError("--settle must be at least 0") }
    }

    func run() async throws {
        try await failing {
            let configuration = try stores.configuration(requireSecret: false)
            let answers = try report.map { try ReportFiles.read($0) }
            let sales = sale + (answers.map { [$0.saleID] } ?? [])
            let results = try await stores.withStores(configuration) { stores in
                var results: [(String, AuditResult)] = []
                for saleID in sales {
                    let matching = answers.flatMap { $0.saleID == saleID ? $0 : nil }
                    results.append(
                        (
                            saleID,
                            try await SaleAudit(stores: stores).run(
                                saleID: saleID,
                                answers: matching.map { .init(created: $0.createdOrders, lost: $0.lostAnswers) },
                                expectedOrders: expectOrders, settle: .seconds(Int64(settle)), progress: progressLine)
                        ))
                }
                return results
            }
            for (saleID, result) in results {
                print("sale \(saleID):")
                print(AuditText.lines(result))
            }
            if results.contains(where: { !$0.1.passed }) { throw ExitCode(1) }
        }
    }
}
