import ArgumentParser
import FlashSale
import Foundation

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a sale and its inventory into PostgreSQL and prime its Redis stock.",
        discussion: """
            The inventory is a CSV file with the header sku,name,price_cents,stock,per_shopper_limit \
            (any column order; quote fields holding commas), or a JSON array of objects with those keys \
            (a file ending in .json), or --generate N demo SKUs. Example:

              sku,name,price_cents,stock,per_shopper_limit
              tee-black-m,"Black tee, M",1999,500,2

            PostgreSQL is written in one transaction after every row has been checked: a bad input \
            (duplicate SKU, negative stock, a price that is not whole cents, an unknown column, a \
            sale that ends before it starts) is one error naming its line, and nothing is written. \
            Running the same input again changes nothing. Before the sale starts a new input simply \
            replaces the old one; once it has started, a change of stock is refused unless --force, \
            which changes both stores consistently (units a change removes must be unsold). \
            Times are ISO 8601 (2026-12-01T09:00:00Z) or now, now+2h, now-30m.
            """)

    @Option(help: "Sale id: letters, digits, '.', '_', '-' (it appears in URLs).")
    var sale: String?

    @Option(help: "The sale's display name.")
    var name: String?

    @Option(name: .customLong("starts-at"), help: "When purchases open.")
    var startsAt: String?

    @Option(name: .customLong("ends-at"), help: "When purchases close.")
    var endsAt: String?

    @Option(name: .customLong("payment-window"), help: "How long a reserved order may wait for payment: 90s, 10m, 1h.")
    var paymentWindow = "10m"

    @Option(help: "Inventory file: CSV, or JSON when it ends in .json.")
    var file: String?

    @Option(help: "Generate N demo SKUs (sku-1 … sku-N, 100 units each, limit 2) instead of reading a file.")
    var generate: Int?

    @Flag(help: "Change the stock of a sale that has already started.")
    var force = false

    @Flag(help: "The README's demo sale: --sale demo, open 2026 to 2036, --generate 3.")
    var demo = false

    @OptionGroup var connection: ConnectionOptions

    static let demoSale = SaleDefinition(
        id: "demo", name: "Demo sale", startsAt: Date(timeIntervalSince1970: 1_767_225_600),
        endsAt: Date(timeIntervalSince1970: 2_082_758_400))

    func validate() throws {
        if demo {
            guard sale == nil, name == nil, startsAt == nil, endsAt == nil, file == nil else {
                throw ValidationError(
                    "--demo defines the sale itself; leave out --sale, --name, --starts-at, --ends-at and --file")
            }
            return
        }
        guard sale != nil, name != nil, startsAt != nil, endsAt != nil else {
            throw ValidationError("--sale, --name, --starts-at and --ends-at are required (or --demo)")
        }
        guard (file == nil) != (generate == nil) else {
            throw ValidationError("give exactly one of --file and --generate")
        }
        if let generate, !(1...10_000_000).contains(generate) {
            throw ValidationError("--generate takes 1 to 10000000 SKUs")
        }
        for (flag, value) in [("--starts-at", startsAt), ("--ends-at", endsAt)] where Moment.date(value ?? "") == nil {
            throw ValidationError("\(flag) '\(value ?? "")' is not a time such as 2026-12-01T09:00:00Z, now or now+2h")
        }
        guard TimeSpan.seconds(paymentWindow) != nil else {
            throw ValidationError("--payment-window '\(paymentWindow)' is not a duration such as 90s, 10m or 1h")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: false)
            let logger = try AppLogger.make("flashsale.seed")
            let definition: SaleDefinition
            let source: InventorySource
            if demo {
                definition = Self.demoSale
                source = .generated(count: generate ?? 3)
            } else {
                let now = Date()
                definition = SaleDefinition(
                    id: sale ?? "", name: name ?? "", startsAt: Moment.date(startsAt ?? "", now: now) ?? now,
                    endsAt: Moment.date(endsAt ?? "", now: now) ?? now,
                    paymentWindowSeconds: TimeSpan.seconds(paymentWindow) ?? 600)
                source = file.map(InventorySource.file) ?? .generated(count: generate ?? 0)
            }
            try definition.validate()
            let started = ContinuousClock.now
            let progress = ProgressReporter(label: "seed \(definition.id)")
            let force = self.force
            let report = try await Stores.with(configuration, logger: logger) { postgres, redis in
                let seeder = SaleSeeder(postgres: postgres, stock: StockPriming(redis: redis), logger: logger)
                return try await seeder.seed(definition, from: source, force: force, progress: progress)
            }
            print(Self.summary(report, saleID: definition.id, elapsed: ContinuousClock.now - started))
        }
    }

    static func summary(_ report: SeedReport, saleID: String, elapsed: Duration) -> String {
        let seconds = String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        if report.changedNothing {
            return "sale \(saleID) unchanged: \(report.rows) SKUs as in the input; nothing to do (\(seconds) s)"
        }
        var parts: [String] = []
        if report.skusAdded > 0 { parts.append("\(report.skusAdded) SKUs added") }
        if report.skusChanged > 0 { parts.append("\(report.skusChanged) changed") }
        if report.skusRemoved > 0 { parts.append("\(report.skusRemoved) removed") }
        if report.liveStockChanges > 0 { parts.append("stock of \(report.liveStockChanges) changed on the live sale") }
        if parts.isEmpty { parts.append("SKUs unchanged") }
        return
            "sale \(saleID) \(report.sale.rawValue): \(parts.joined(separator: ", ")); \(report.rows) SKUs, \(report.totalUnits) units in PostgreSQL and Redis (\(seconds) s)"
    }
}
