import FlashSale
import Foundation
import PostgresNIO
import RedisClient

/// The invariants of one sale, read from PostgreSQL and Redis directly once the load is over:
/// what `flashsale-loadtest` prints after a run and `make bench` checks after its own.
public struct SaleAudit: Sendable {
    /// What the clients saw: the 201s and the answers that never came. Without it, only the
    /// stores are checked against each other.
    public struct Answers: Sendable {
        public var created: [CreatedOrder]
        public var lost: [LostAnswer]
        /// Only these shoppers' orders must be explained by `created` and `lost` (a shard of a
        /// run sees its own shoppers only); nil for all of the sale's orders.
        public var shoppers: Set<String>?

        public init(created: [CreatedOrder], lost: [LostAnswer], shoppers: Set<String>? = nil) {
            self.created = created
            self.lost = lost
            self.shoppers = shoppers
        }
    }

    let stores: AuditStores

    public init(stores: AuditStores) { self.stores = stores }

    struct Item {
        let sku: String
        let initial: Int64
        let available: Int64
        let limit: Int64
        var live: Int64 = 0
        var redis: Int64?
    }

    struct Order {
        let id: String
        let token: String
        let shopper: String
        let sku: String
        let quantity: Int64
    }

    /// Waits (at most `settle` past the last reserved order's `pay_by`) for the worker to expire
    /// what was abandoned and for in-flight reservations to finish, then checks.
    public func run(
        saleID: String, answers: Answers?, expectedOrders: Int? = nil, settle: Duration = .seconds(30),
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> AuditResult {
        try await waitUntilSettled(saleID: saleID, settle: settle, progress: progress)
        let items = try await self.items(saleID: saleID)
        guard !items.isEmpty else {
            return AuditResult(checks: [.init(name: "sale exists", passed: false, detail: "no inventory for sale \(saleID)")])
        }
        let orders = try await self.orders(saleID: saleID)
        var checks = [
            oversell(items), soldPlusAvailable(items), oneOrderPerToken(orders, answers: answers),
            try await perShopperLimits(saleID: saleID), try await overdue(saleID: saleID),
            try await redisMatches(saleID: saleID, items: items),
        ]
        if let answers {
            checks.append(createdAreCommitted(orders, answers: answers))
            checks.append(ordersAreExplained(orders, answers: answers))
        }
        if let expectedOrders {
            checks.append(
                .init(
                    name: "orders equal the 201s served", passed: orders.count == expectedOrders,
                    detail: "\(orders.count) orders, \(expectedOrders) answered 201"))
        }
        return AuditResult(checks: checks)
    }

    // MARK: The checks

    func oversell(_ items: [Item]) -> AuditResult.Check {
        let broken = items.filter { $0.live > $0.initial || $0.available < 0 || ($0.redis ?? 0) < 0 }
        return .init(
            name: "no oversell", passed: broken.isEmpty,
            detail: broken.isEmpty
                ? "\(items.count) SKUs, \(items.reduce(0) { $0 + $1.live }) units sold of \(items.reduce(0) { $0 + $1.initial })"
                : broken.map {
                    "\($0.sku): \($0.live) sold of \($0.initial), available \($0.available), Redis \($0.redis.map(String.init) ?? "none")"
                }
                .joined(separator: "; "))
    }

    func soldPlusAvailable(_ items: [Item]) -> AuditResult.Check {
        let broken = items.filter { $0.live + $0.available != $0.initial }
        return .init(
            name: "sold + available = initial", passed: broken.isEmpty,
            detail: broken.isEmpty
                ? "every SKU"
                : broken.map { "\($0.sku): \($0.live) + \($0.available) ≠ \($0.initial)" }.joined(separator: "; "))
    }

    func oneOrderPerToken(_ orders: [Order], answers: Answers?) -> AuditResult.Check {
        var problems: [String] = []
        var byToken: [String: String] = [:]
        for order in orders {
            if let other = byToken.updateValue(order.id, forKey: order.token) {
                problems.append("token \(order.token) has orders \(other) and \(order.id)")
            }
        }
        var answered: [String: String] = [:]
        for created in answers?.created ?? [] {
            if let other = answered.updateValue(created.orderID, forKey: created.checkoutToken), other != created.orderID {
                problems.append("token \(created.checkoutToken) was answered with orders \(other) and \(created.orderID)")
            }
        }
        return .init(
            name: "one order per checkout token", passed: problems.isEmpty,
            detail: problems.isEmpty ? "\(orders.count) orders, \(byToken.count) tokens" : Self.some(problems))
    }

    func perShopperLimits(saleID: String) async throws -> AuditResult.Check {
        let rows = try await stores.postgres.query(
            """
            SELECT o.shopper_id, o.sku, sum(o.quantity)::bigint, i.per_shopper_limit::bigint
            FROM orders o JOIN inventory i ON i.sale_id = o.sale_id AND i.sku = o.sku
            WHERE o.sale_id = \(saleID) AND o.status IN ('reserved', 'paying', 'paid')
            GROUP BY o.shopper_id, o.sku, i.per_shopper_limit
            HAVING sum(o.quantity) > i.per_shopper_limit
            """, logger: stores.logger)
        var problems: [String] = []
        for try await (shopper, sku, units, limit) in rows.decode((String, String, Int64, Int64).self) {
            problems.append("\(shopper) holds \(units) of \(sku) (limit \(limit))")
        }
        return .init(
            name: "per-shopper limits held", passed: problems.isEmpty,
            detail: problems.isEmpty ? "every shopper" : Self.some(problems))
    }

    func overdue(saleID: String) async throws -> AuditResult.Check {
        let count = try await overdueCount(saleID: saleID)
        return .init(
            name: "no reserved order past its window", passed: count == 0,
            detail: count == 0 ? "none" : "\(count) orders still reserved past pay_by (is `flashsale worker` running?)")
    }

    func redisMatches(saleID: String, items: [Item]) async throws -> AuditResult.Check {
        var problems = items.filter { $0.redis != $0.available }.map {
            "\($0.sku): Redis \($0.redis.map(String.init) ?? "none"), PostgreSQL \($0.available)"
        }
        let ledger = try await ledgerSize(saleID: saleID)
        if ledger != 0 { problems.append("\(ledger) reservations still in the ledger") }
        return .init(
            name: "Redis stock equals PostgreSQL's", passed: problems.isEmpty,
            detail: problems.isEmpty ? "every SKU, ledger empty" : problems.joined(separator: "; "))
    }

    func createdAreCommitted(_ orders: [Order], answers: Answers) -> AuditResult.Check {
        let byID = Dictionary(orders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for created in Set(answers.created) {
            guard let order = byID[created.orderID.lowercased()] else {
                problems.append("201 for order \(created.orderID) (token \(created.checkoutToken)) but no such order")
                continue
            }
            if order.token != created.checkoutToken || order.shopper != created.shopperID || order.sku != created.sku {
                problems.append(
                    "order \(created.orderID) is \(order.shopper)/\(order.sku)/\(order.token), answered as \(created.shopperID)/\(created.sku)/\(created.checkoutToken)"
                )
            }
        }
        return .init(
            name: "every 201 is a committed order", passed: problems.isEmpty,
            detail: problems.isEmpty ? "\(Set(answers.created.map(\.orderID)).count) orders answered 201" : Self.some(problems))
    }

    func ordersAreExplained(_ orders: [Order], answers: Answers) -> AuditResult.Check {
        let answered = Set(answers.created.map(\.checkoutToken))
        let lost = Set(answers.lost.map(\.checkoutToken))
        var explainedByLoss = 0
        var problems: [String] = []
        for order in orders where answers.shoppers?.contains(order.shopper) ?? true {
            if answered.contains(order.token) { continue }
            if lost.contains(order.token) {
                explainedByLoss += 1
                continue
            }
            problems.append("order \(order.id) (\(order.shopper), token \(order.token)) was never answered 201")
        }
        return .init(
            name: "every order was answered 201 or its answer lost", passed: problems.isEmpty,
            detail: problems.isEmpty
                ? "\(explainedByLoss) committed orders whose answer was lost (of \(lost.count) lost answers)"
                : Self.some(problems))
    }

    static func some(_ problems: [String]) -> String {
        problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; and \(problems.count - 5) more" : "")
    }

    // MARK: Reading the stores

    func waitUntilSettled(saleID: String, settle: Duration, progress: @Sendable (String) -> Void) async throws {
        let clock = ContinuousClock()
        var deadline = clock.now + settle
        while true {
            let overdue = try await overdueCount(saleID: saleID)
            let ledger = try await ledgerSize(saleID: saleID)
            // Reserved orders due within the settle time are waited for; a sale's default window of
            // 10 minutes is not.
            let dueSoon = try await lastReservedPayBy(saleID: saleID).flatMap {
                $0.timeIntervalSinceNow <= settle.seconds ? $0.timeIntervalSinceNow : nil
            }
            if overdue == 0 && ledger == 0 && dueSoon == nil { return }
            if let dueSoon { deadline = max(deadline, clock.now + .seconds(max(0, dueSoon)) + settle) }
            guard clock.now < deadline else { return }
            progress("audit: waiting for the worker: \(overdue) orders past pay_by, \(ledger) reservations in flight")
            try await clock.sleep(for: .seconds(1))
        }
    }

    func items(saleID: String) async throws -> [Item] {
        let rows = try await stores.postgres.query(
            """
            SELECT i.sku, i.initial_stock::bigint, i.available::bigint, i.per_shopper_limit::bigint,
                   coalesce((SELECT sum(quantity) FROM orders o WHERE o.sale_id = i.sale_id AND o.sku = i.sku
                             AND o.status IN ('reserved', 'paying', 'paid')), 0)::bigint
            FROM inventory i WHERE i.sale_id = \(saleID) ORDER BY i.sku
            """, logger: stores.logger)
        var items: [Item] = []
        for try await (sku, initial, available, limit, live) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            items.append(Item(sku: sku, initial: initial, available: available, limit: limit, live: live))
        }
        guard !items.isEmpty else { return [] }
        let keys = RedisKeys(saleID: saleID)
        let reply = try await stores.redis.send([.string("MGET")] + items.map { .string(keys.stock($0.sku)) })
        for (index, value) in (reply.array ?? []).enumerated() where index < items.count {
            items[index].redis = value.integer
        }
        return items
    }

    func orders(saleID: String) async throws -> [Order] {
        let rows = try await stores.postgres.query(
            "SELECT id::text, checkout_token, shopper_id, sku, quantity::bigint FROM orders WHERE sale_id = \(saleID)",
            logger: stores.logger)
        var orders: [Order] = []
        for try await (id, token, shopper, sku, quantity) in rows.decode((String, String, String, String, Int64).self) {
            orders.append(Order(id: id, token: token, shopper: shopper, sku: sku, quantity: quantity))
        }
        return orders
    }

    func overdueCount(saleID: String) async throws -> Int64 {
        let rows = try await stores.postgres.query(
            """
            SELECT count(*) FROM orders
            WHERE sale_id = \(saleID) AND status = 'reserved' AND pay_by < now() - interval '2 seconds'
            """, logger: stores.logger)
        var count: Int64 = 0
        for try await value in rows.decode(Int64.self) { count = value }
        return count
    }

    func lastReservedPayBy(saleID: String) async throws -> Date? {
        let rows = try await stores.postgres.query(
            "SELECT max(pay_by) FROM orders WHERE sale_id = \(saleID) AND status = 'reserved'", logger: stores.logger)
        var last: Date?
        for try await value in rows.decode(Date?.self) { last = value }
        return last
    }

    func ledgerSize(saleID: String) async throws -> Int64 {
        try await stores.redis.send("ZCARD", .string(RedisKeys(saleID: saleID).reservations)).integer ?? 0
    }
}
