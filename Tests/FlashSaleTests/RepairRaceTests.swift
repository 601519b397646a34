import FlashSaleTestSupport
import PostgresNIO
import RedisClient
import Synchronization
import Testing

@testable import FlashSale

@Suite("reconcile --repair held between its reads and its script while an order commits")
struct RepairRaceTests {
    /// Ann (limit 2) holds one unit when a repair starts. Held after its reads, the repair lets her
    /// buy a second unit, reserved, committed and cleared from the ledger before its script runs:
    /// in neither of the repair's readings. The repair must not write what it read (stock one
    /// too high, Ann's count one too low): a third purchase right after must hear purchase_limit.
    @Test func anOrderCommittedInTheGapIsNotUndoneByTheRepair() async throws {
        let sale = TestSale(stock: 10, perShopperLimit: 2)
        try await WorkflowFixture.run(sale, orderWrites: { _, postgres in postgres }) { workflow, redis, postgres in
            let keys = RedisKeys(saleID: sale.id)
            let buy: @Sendable () async throws -> PurchaseOutcome = {
                let token = try await CheckoutTokens(redis: redis).issue(saleID: sale.id, shopperID: "ann")
                let outcome = await workflow.purchase(
                    saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: "ann")
                // The workflow does not wait for its ledger entry to go; the gap needs it gone.
                try await eventually {
                    guard try await redis.send("ZCARD", .string(keys.reservations)).integer == 0 else {
                        throw RaceError.ledgerNotEmpty
                    }
                }
                return outcome
            }
            guard case .created = try await buy() else {
                Issue.record("Ann's first unit was not sold")
                return
            }

            let seen = Mutex<(second: PurchaseOutcome?, third: PurchaseOutcome?, stock: Int64?, bought: Int64?)>(
                (nil, nil, nil, nil))
            var reconciler = StockReconciler(postgres: postgres, redis: redis, logger: TestDatabase.logger)
            reconciler.beforeScript = { attempt in
                switch attempt {
                case 1:
                    let second = try await buy()
                    seen.withLock { $0.second = second }
                case 2:
                    // What the first attempt left in Redis, and what a shopper can do with it.
                    let stock = try await redis.send("GET", .string(keys.stock(sale.sku))).integer
                    let bought = try await redis.send("GET", .string(keys.bought(shopper: "ann", sku: sale.sku))).integer
                    let third = try await buy()
                    seen.withLock {
                        $0.third = third
                        $0.stock = stock
                        $0.bought = bought
                    }
                default: break
                }
            }
            let report = try await reconciler.run(saleID: sale.id, mode: .repair)
            #expect(report.busySKUs.isEmpty)

            let outcomes = seen.withLock { $0 }
            guard case .created = outcomes.second else {
                Issue.record("the order in the gap answered \(String(describing: outcomes.second))")
                return
            }
            #expect(outcomes.stock == 8, "Redis stock after the first attempt")
            #expect(outcomes.bought == 2, "Ann's count after the first attempt")
            #expect(
                outcomes.third
                    == .rejected(.purchaseLimit, detail: "this purchase would exceed the per-shopper limit of \(sale.sku)"))
            let held = try await postgres.query(
                """
                SELECT coalesce(sum(quantity), 0)::bigint FROM orders
                WHERE shopper_id = 'ann' AND status NOT IN ('cancelled', 'expired')
                """, logger: TestDatabase.logger
            ).decode(Int64.self).collectAll()
            #expect(held == [2])
            #expect(try await redis.send("GET", .string(keys.stock(sale.sku))).integer == 8)
            let check = try await StockReconciler(postgres: postgres, redis: redis, logger: TestDatabase.logger)
                .run(saleID: sale.id, mode: .check)
            #expect(check.isClean, "\(check)")
        }
    }

    /// A SKU that sells during every unfenced attempt is fenced for the next: a purchase that would
    /// win meanwhile answers 503 and keeps its checkout token, the repair completes, the fence is
    /// gone, and the same token then buys.
    @Test func aSKUSellingThroughEveryUnfencedAttemptIsRepairedBehindTheFence() async throws {
        let sale = TestSale(stock: 10, perShopperLimit: 10)
        try await WorkflowFixture.run(sale, orderWrites: { _, postgres in postgres }) { workflow, redis, postgres in
            let keys = RedisKeys(saleID: sale.id)
            let checkout = CheckoutTokens(redis: redis)
            let fencedToken = try await checkout.issue(saleID: sale.id, shopperID: "bob")
            let outcomes = Mutex<[Int: PurchaseOutcome]>([:])
            var reconciler = StockReconciler(postgres: postgres, redis: redis, logger: TestDatabase.logger)
            reconciler.beforeScript = { attempt in
                let token =
                    attempt <= StockReconciler.attemptsBeforeFence
                    ? try await checkout.issue(saleID: sale.id, shopperID: "bob") : fencedToken
                let outcome = await workflow.purchase(
                    saleID: sale.id, sku: sale.sku, quantity: 1, token: token, shopperID: "bob")
                outcomes.withLock { $0[attempt] = outcome }
            }
            let report = try await reconciler.run(saleID: sale.id, mode: .repair)
            #expect(report.busySKUs.isEmpty)
            #expect(report.attempts == StockReconciler.attemptsBeforeFence + 1)
            #expect(report.fencedSKUs == 1)
            #expect(report.differenceCount == 0 && report.countsDiffering == 0, "\(report)")

            let seen = outcomes.withLock { $0 }
            for attempt in 1...StockReconciler.attemptsBeforeFence {
                guard case .created = seen[attempt] else {
                    Issue.record("attempt \(attempt)'s purchase answered \(String(describing: seen[attempt]))")
                    continue
                }
            }
            #expect(
                seen[StockReconciler.attemptsBeforeFence + 1]
                    == .rejected(.unavailable, detail: "stock for \(sale.sku) is being restored; try again shortly"))
            #expect(try await redis.send("EXISTS", .string(keys.repairFence(sale.sku))).integer == 0)

            let retried = await workflow.purchase(
                saleID: sale.id, sku: sale.sku, quantity: 1, token: fencedToken, shopperID: "bob")
            guard case .created = retried else {
                Issue.record("the fenced token's retry answered \(retried)")
                return
            }
            let sold = Int64(StockReconciler.attemptsBeforeFence + 1)
            try await eventually {
                guard try await redis.send("ZCARD", .string(keys.reservations)).integer == 0 else {
                    throw RaceError.ledgerNotEmpty
                }
            }
            #expect(try await redis.send("GET", .string(keys.stock(sale.sku))).integer == sale.stock - sold)
            #expect(try await redis.send("GET", .string(keys.bought(shopper: "bob", sku: sale.sku))).integer == sold)
            let check = try await StockReconciler(postgres: postgres, redis: redis, logger: TestDatabase.logger)
                .run(saleID: sale.id, mode: .check)
            #expect(check.isClean, "\(check)")
        }
    }
}

enum RaceError: Error {
    case ledgerNotEmpty
}
