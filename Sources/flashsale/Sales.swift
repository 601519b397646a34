import ArgumentParser
import FlashSale
import Foundation

struct Sales: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List sales with their state and, per SKU, stock, sold, reserved, paid and available units.",
        discussion: """
            State: scheduled (not started), live, sold out (live with nothing available), ended. \
            sold = reserved + paid (orders not cancelled or expired); available is PostgreSQL's, the \
            stock of record. Large sales show their first SKUs and a total line.
            """)

    @Option(help: "Show only this sale.")
    var sale: String?

    @Option(help: "SKUs shown per sale.")
    var skus = 20

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard skus >= 0 else { throw ValidationError("--skus must be 0 or more") }
    }

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: false)
            let logger = try AppLogger.make("flashsale.sales")
            let (only, limit) = (sale, skus)
            let sales = try await Stores.with(configuration, logger: logger) { postgres, _ in
                try await SalesOverview(postgres: postgres, logger: logger).sales(only: only, itemsPerSale: limit)
            }
            if sales.isEmpty {
                if let only { throw CommandFailure("no sale \(only)") }
                print("No sales yet. Load one with `flashsale seed` (see `flashsale help seed`).")
                return
            }
            print(sales.map(Self.render).joined(separator: "\n\n"))
        }
    }

    static func render(_ sale: SalesOverview.SaleLine) -> String {
        let period = "\(sale.startsAt.formatted(.iso8601)) → \(sale.endsAt.formatted(.iso8601))"
        var table = TextTable("sku", "stock", "sold", "reserved", "paid", "available")
        for item in sale.items + [sale.totals] {
            table.add(["\(item.sku)", "\(item.stock)", "\(item.sold)", "\(item.reserved)", "\(item.paid)", "\(item.available)"])
        }
        var lines = ["\(sale.id)  \(sale.name)  [\(sale.state.rawValue)]  \(period)", table.rendered]
        if sale.skuCount > sale.items.count {
            lines.append("(\(sale.items.count) of \(sale.skuCount) SKUs shown; --sale \(sale.id) --skus N for more)")
        }
        return lines.joined(separator: "\n")
    }
}
