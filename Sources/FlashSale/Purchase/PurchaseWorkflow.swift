import Foundation
import Logging
import RedisClient

/// Check stock → deduct stock → create order. Redis decides who wins in one script per attempt;
/// only winners reach PostgreSQL. If PostgreSQL fails, Redis is compensated and the answer is 503.
public struct PurchaseWorkflow: Sendable {
    /// Beyond this, a quantity is a typo or an attack, not a purchase.
    public static let maximumQuantity: Int64 = 1_000_000

    let catalog: SaleCatalog
    let reservations: StockReservations
    let committer: any OrderCommitter
    /// Redis' and PostgreSQL's circuit breakers; nil calls them whatever they did lately.
    let breakers: DependencyBreakers?
    let logger: Logger

    public init(
        catalog: SaleCatalog, reservations: StockReservations, committer: any OrderCommitter,
        breakers: DependencyBreakers? = nil, logger: Logger
    ) {
        self.catalog = catalog
        self.reservations = reservations
        self.committer = committer
        self.breakers = breakers
        self.logger = logger
    }

    public func purchase(
        saleID: String, sku: String, quantity: Int64, token: String, shopperID: String, email: String? = nil,
        now: Date = Date()
    ) async -> PurchaseOutcome {
        guard !sku.isEmpty else { return .rejected(.invalidRequest, detail: "sku must not be empty") }
        guard (1...Self.maximumQuantity).contains(quantity) else {
            return .rejected(.invalidRequest, detail: "quantity must be a whole number from 1 to \(Self.maximumQuantity)")
        }
        guard CheckoutTokens.isWellFormed(token) else {
            return .rejected(.invalidToken, detail: "the Idempotency-Key is not a checkout token issued by this service")
        }
        let sale: Sale?
        var item: SaleItem?
        do {
            // Both from memory, but for one load per sale every few seconds and per SKU per catalog version.
            sale = try await catalog.sale(saleID)
            if let sale { item = try await catalog.item(of: sale, sku: sku) }
        } catch {
            logger.error("sale lookup failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            return .rejected(.unavailable, detail: "the sale cannot be read right now; try again")
        }
        guard let sale else { return .rejected(.notFound, detail: "no sale \(saleID)") }
        guard let item else { return .rejected(.notFound, detail: "sale \(saleID) has no SKU \(sku)") }
        guard sale.isActive(at: now) else {
            return .rejected(.saleNotActive, detail: "sale \(saleID) is not open for purchases now")
        }

        let unixNow = Int64(now.timeIntervalSince1970)
        if await answeredFromMemory(saleID: saleID, sku: sku, token: token, unixNow: unixNow) {
            return .rejected(.soldOut, detail: Self.detail(.soldOut, sku: sku))
        }
        // While PostgreSQL's breaker is open no unit is taken in Redis: it could not be recorded.
        if let unavailable = breakers?.postgres.refusal() { return .unavailable(unavailable) }
        let reservation: StockReservations.Reservation
        do {
            reservation = try await DependencyBreaker.run(breakers?.redis, isFailure: RedisError.isOutage) {
                try await reservations.reserve(
                    saleID: saleID, sku: sku, token: token, shopperID: shopperID, quantity: quantity,
                    limit: item.perShopperLimit, fingerprint: "\(sku)\n\(quantity)")
            }
        } catch let unavailable as DependencyUnavailable {
            return .unavailable(unavailable)
        } catch {
            logger.error("reservation failed", metadata: ["error": "\(error)"])
            return .rejected(.unavailable, detail: "stock cannot be checked right now; try again")
        }
        switch reservation {
        case .won(let remaining, let version):
            if remaining <= 0 { soldOut.checked(saleID: saleID, sku: sku, stock: 0, version: version, unixSeconds: unixNow) }
            let pending = PendingOrder(
                saleID: saleID, sku: sku, shopperID: shopperID, quantity: quantity,
                amountCents: item.priceCents * quantity, checkoutToken: token,
                paymentWindowSeconds: sale.paymentWindowSeconds, email: email)
            return await commit(pending)
        case .soldOut(let stock, let version):
            soldOut.checked(saleID: saleID, sku: sku, stock: stock, version: version, unixSeconds: unixNow)
            return .rejected(.soldOut, detail: Self.detail(.soldOut, sku: sku))
        case .purchaseLimit: return .rejected(.purchaseLimit, detail: Self.detail(.purchaseLimit, sku: sku))
        case .inProgress:
            return .rejected(.requestInProgress, detail: "a request with this checkout token is still running")
        case .invalidToken:
            return .rejected(.invalidToken, detail: "the checkout token is unknown, expired, or not yours")
        case .keyReused:
            return .rejected(
                .idempotencyKeyReused, detail: "this checkout token was already used with a different request body")
        case .notStocked:
            logger.error("stock missing in Redis", metadata: ["sale": "\(saleID)", "sku": "\(sku)"])
            return .rejected(.unavailable, detail: "stock for \(sku) is being restored; try again shortly")
        case .replay(let outcome, let body):
            if outcome == "created" { return .replayCreated(body: body) }
            let rejection = PurchaseRejection(rawValue: outcome) ?? .unavailable
            return .replayRejected(rejection, detail: Self.detail(rejection, sku: sku))
        }
    }

    private var soldOut: SoldOutSKUs { reservations.soldOut }

    /// Whether the sold-out short circuit answers this attempt (see ``SoldOutSKUs``). Every
    /// ``SoldOutSKUs/recheckInterval`` one attempt looks at the stock again instead.
    ///
    /// A token answered from here is not consumed: Redis never saw it. Should units come back
    /// within its five minutes, a retry with it can still win one, where Redis would have
    /// replayed its sold_out.
    private func answeredFromMemory(saleID: String, sku: String, token: String, unixNow: Int64) async -> Bool {
        switch soldOut.verdict(saleID: saleID, sku: sku, issuedAt: CheckoutTokens.issuedAt(token), unixSeconds: unixNow) {
        case .unknown: return false
        case .soldOut: return true
        case .recheck:
            do {
                let (stock, version) = try await reservations.stockAndVersion(saleID: saleID, sku: sku)
                soldOut.checked(saleID: saleID, sku: sku, stock: stock, version: version, unixSeconds: unixNow)
                return stock.map { $0 <= 0 } ?? false
            } catch {
                soldOut.checkFailed(saleID: saleID, sku: sku)
                return false
            }
        }
    }

    private func commit(_ pending: PendingOrder) async -> PurchaseOutcome {
        let order: Order
        do {
            order = try await DependencyBreaker.run(breakers?.postgres, isFailure: Self.isPostgresOutage) {
                try await committer.commit(pending)
            }
        } catch let unavailable as DependencyUnavailable {
            // Refused by the breaker (another attempt holds its probe): never sent, so given back.
            await giveBack(pending)
            return .unavailable(unavailable)
        } catch let unknown as OrderOutcomeUnknown {
            // Maybe committed: giving the units back could sell them twice. The ledger entry stays,
            // and the record stays pending, so a retry of this token hears 409 request_in_progress.
            logger.error("order outcome unknown; left to the ledger sweep", metadata: ["error": "\(unknown)"])
            return .rejected(.unavailable, detail: Self.outcomeUnknown)
        } catch OrderBatchWriter.WriteError.perShopperLimitOfRecord {
            // Redis' bought count was behind the record (lost, or re-seeded): the record decides.
            logger.warning(
                "PostgreSQL refused an order over the per-shopper limit; giving the stock back",
                metadata: ["sale": "\(pending.saleID)", "sku": "\(pending.sku)", "shopper": "\(pending.shopperID)"])
            await giveBack(pending)
            return .rejected(.purchaseLimit, detail: Self.detail(.purchaseLimit, sku: pending.sku))
        } catch {
            logger.error(
                "order commit failed; giving the stock back", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            await giveBack(pending)
            return .rejected(.unavailable, detail: Self.detail(.unavailable, sku: pending.sku))
        }
        let body = OrderDocument.encode(order)
        let logger = logger
        reservations.finalize(saleID: pending.saleID, token: pending.checkoutToken, body: body) { error in
            // Committed regardless (201 stands); the ledger sweep finds the order and finalizes.
            logger.warning("finalize failed after commit", metadata: ["error": "\(error)"])
        }
        return .created(body: body)
    }

    /// A write refused for the per-shopper limit of record is PostgreSQL answering, not failing.
    static func isPostgresOutage(_ error: any Error) -> Bool {
        if case OrderBatchWriter.WriteError.perShopperLimitOfRecord = error { return false }
        return true
    }

    /// An order that is certainly not committed: its units and its token back in Redis.
    private func giveBack(_ pending: PendingOrder) async {
        do {
            try await reservations.compensate(
                saleID: pending.saleID, sku: pending.sku, token: pending.checkoutToken,
                shopperID: pending.shopperID, quantity: pending.quantity)
        } catch {
            // The ledger entry stays; the worker's sweep gives the stock back.
            logger.error("compensation failed; left to the ledger sweep", metadata: ["error": "\(error)"])
        }
    }

    static let outcomeUnknown =
        "PostgreSQL could not confirm whether the order was recorded; ask again later with the same checkout token"

    /// Details that replays repeat, so they depend only on what the replayed request had.
    static func detail(_ rejection: PurchaseRejection, sku: String) -> String {
        switch rejection {
        case .soldOut: "\(sku) is sold out"
        case .purchaseLimit: "this purchase would exceed the per-shopper limit of \(sku)"
        case .unavailable:
            "the order could not be recorded; nothing was charged and the stock was released; try again with a new checkout token"
        default: rejection.rawValue.replacingOccurrences(of: "_", with: " ")
        }
    }
}
