import FlashSale
import Foundation
import PostgresNIO

/// The scenario's sale, seeded through the same code as `flashsale seed`: its own id per run,
/// opening when the scenario's `sale_opens` phase begins.
public enum ScenarioSale {
    public static func id(_ scenario: Scenario, runID: String) -> String {
        "\(scenario.sale.id)-\(runID)"
    }

    public static func seed(
        _ scenario: Scenario, runID: String, runStartsAt: Date, stores: AuditStores
    ) async throws -> String {
        let saleID = id(scenario, runID: runID)
        let definition = SaleDefinition(
            id: saleID, name: scenario.sale.name,
            startsAt: runStartsAt.addingTimeInterval(scenario.saleOpensAfter),
            // Long after the run, so the payments and cancellations of its tail are still in the sale.
            endsAt: runStartsAt.addingTimeInterval(scenario.seconds + 3600),
            paymentWindowSeconds: scenario.sale.paymentWindowSeconds)
        let rows = try scenario.sale.items.enumerated().map { index, item in
            try InventoryRow.parse(
                [
                    "sku": item.sku, "name": item.name, "price_cents": String(item.priceCents), "stock": String(item.stock),
                    "per_shopper_limit": String(item.perShopperLimit),
                ], line: index + 1)
        }
        let seeder = SaleSeeder(postgres: stores.postgres, stock: StockPriming(redis: stores.redis), logger: stores.logger)
        // Every shard seeds: a seed of the same input is a no-op. Two at the same instant collide
        // on the sale's key, and the loser's second try is that no-op.
        for attempt in 1...3 {
            do {
                _ = try await seeder.seed(definition, from: .rows(rows), now: Date())
                break
            } catch let error as PSQLError where attempt < 3 {
                stores.logger.debug("seed collided, trying again", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return saleID
    }
}
