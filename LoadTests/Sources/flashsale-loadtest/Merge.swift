import ArgumentParser
import Foundation
import LoadTestKit

struct Merge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the report.json of several shards of one run into one report (histograms merged).",
        discussion: """
            Audits the merged answers against the stores unless --no-audit (every shard's 201s
            together explain every order of the sale).
            """)

    @Argument(help: "The shards' report.json files.")
    var reports: [String]

    @Option(help: "Folder for the merged report.json and report.html.")
    var out = ".local/loadtest/merged"

    @Flag(name: .customLong("no-audit"), help: "Do not audit the merged answers.")
    var noAudit = false

    @Option(help: "Seconds to wait for the worker past the last due order.")
    var settle = 30

    @OptionGroup var stores: StoreOptions

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give the report.json files to merge") }
    }

    func run() async throws {
        try await failing {
            var merged = try ReportMerge.merge(try reports.map { try ReportFiles.read($0) })
            if !noAudit {
                let configuration = try stores.configuration(requireSecret: false)
                let snapshot = merged
                merged.audit = try await stores.withStores(configuration) { stores in
                    try await SaleAudit(stores: stores).run(
                        saleID: snapshot.saleID,
                        answers: .init(created: snapshot.createdOrders, lost: snapshot.lostAnswers),
                        settle: .seconds(Int64(settle)), progress: progressLine)
                }
            }
            let files = try ReportFiles.write(merged, to: URL(fileURLWithPath: out))
            print(TerminalSummary.render(merged))
            print("report: \(files.json.path)\n        \(files.html.path)")
            if let audit = merged.audit, !audit.passed { throw ExitCode(1) }
        }
    }
}
