import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
import Synchronization
import Testing

@Suite("reconcile --repair in a loop while shoppers with a limit of 2 keep buying one SKU")
struct RepairUnderLoadTests {
    static let shoppers = 240
    /// Shoppers buying at once.
    static let lanes = 40

    /// A fresh token per attempt until the shopper has heard purchase_limit three times. The next
    /// token is fetched while an order is under way, so a shopper whose count a repair has just
    /// set too low tries again within one round trip.
    static func shop(_ harness: PurchaseHarness, _ shopper: String) async throws -> [String: Int] {
        var answers: [String: Int] = [:]
        var limited = 0
        var token = try await harness.checkoutToken(for: shopper)
        for _ in 0..<30 where limited < 3 {
            async let next = harness.checkoutToken(for: shopper)
            let reply = try await harness.order(shopper: shopper, token: token)
            answers["\(reply.status) \(reply.code ?? "")", default: 0] += 1
            if reply.code == "purchase_limit" { limited += 1 }
            token = try await next
        }
        return answers
    }

    static func load(_ harness: PurchaseHarness) async throws -> [String: Int] {
        try await withThrowingTaskGroup(of: [String: Int].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var answers: [String: Int] = [:]
                    for shopper in stride(from: lane, to: shoppers, by: lanes) {
                        answers.merge(try await shop(harness, "shopper-\(shopper)"), uniquingKeysWith: +)
                    }
                    return answers
                }
            }
            return try await group.reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) }
        }
    }

    @Test func noShopperEverHoldsMoreThanTwoAndEveryRepairCompletes() async throws {
        try await PurchaseHarness.run(TestSale(stock: 100_000, perShopperLimit: 2)) { harness in
            let reconciler = StockReconciler(postgres: harness.postgres, redis: harness.redis, logger: PurchaseHarness.logger)
            let loadDone = Flag()
            let answers: [String: Int]
            let reports: [ReconcileReport]
            (answers, reports) = try await withThrowingTaskGroup(of: ([String: Int], [ReconcileReport]).self) { group in
                group.addTask {
                    defer { loadDone.raise() }
                    return (try await Self.load(harness), [])
                }
                group.addTask {
                    var reports: [ReconcileReport] = []
                    while !loadDone.isRaised {
                        reports.append(try await reconciler.run(saleID: harness.sale.id, mode: .repair))
                    }
                    return ([:], reports)
                }
                return try await group.reduce(into: ([:], [])) {
                    $0.0.merge($1.0, uniquingKeysWith: +)
                    $0.1 += $1.1
                }
            }
            let attempts = Dictionary(grouping: reports, by: \.attempts).mapValues(\.count).sorted { $0.key < $1.key }
            print(
                "repair under load: \(reports.count) repairs, by attempts taken \(attempts), "
                    + "\(reports.filter { $0.fencedSKUs > 0 }.count) fenced; answers \(answers)")

            #expect(Set(answers.keys).isSubset(of: ["201 ", "409 purchase_limit", "503 unavailable"]), "\(answers)")
            #expect(reports.count >= 3, "repairs ran while shoppers bought")
            let busy = reports.filter { !$0.busySKUs.isEmpty }.count
            #expect(busy == 0, "\(busy) of \(reports.count) repairs gave up as busy")

            let overLimit = try await harness.postgres.query(
                """
                SELECT shopper_id, sum(quantity)::bigint FROM orders
                WHERE sale_id = \(harness.sale.id) AND status NOT IN ('cancelled', 'expired')
                GROUP BY shopper_id HAVING sum(quantity) > 2
                """, logger: PurchaseHarness.logger
            ).decode((String, Int64).self).collectAll()
            #expect(overLimit.isEmpty, "shoppers over their limit of 2: \(overLimit)")
            let stock = try await harness.postgresStock()
            #expect(stock.available + stock.ordered == harness.sale.stock)
            #expect(stock.orders == answers["201 ", default: 0])

            // Once the last purchases have cleared the ledger, Redis matches PostgreSQL exactly.
            let check = try await eventually {
                let report = try await reconciler.run(saleID: harness.sale.id, mode: .check)
                guard report.isClean else { throw HarnessError.unexpected("\(report)") }
                return report
            }
            #expect(check.isClean)
            #expect(try await harness.redisStock() == stock.available)
        }
    }
}

/// Raised once, read from other tasks.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
