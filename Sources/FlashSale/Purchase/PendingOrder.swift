import Foundation

/// An order that won its units in Redis and now has to be committed to PostgreSQL.
public struct PendingOrder: Sendable, Equatable {
    public let id: UUID
    public let saleID: String
    public let sku: String
    public let shopperID: String
    public let quantity: Int64
    public let amountCents: Int64
    public let checkoutToken: String
    public let paymentWindowSeconds: Int64
    /// Where the order's e-mails go (the shopper token's `email` claim); nil sends none.
    public let email: String?
    /// No write of this order starts after this: the worker's ledger sweep settles a reservation
    /// once it is ``LedgerBound/sweepAge`` old, and must find the order written by then or never.
    public let writeBy: ContinuousClock.Instant

    public init(
        id: UUID = UUID(), saleID: String, sku: String, shopperID: String, quantity: Int64, amountCents: Int64,
        checkoutToken: String, paymentWindowSeconds: Int64, email: String? = nil,
        writeBy: ContinuousClock.Instant = .now + LedgerBound.writeWindow
    ) {
        self.id = id
        self.saleID = saleID
        self.sku = sku
        self.shopperID = shopperID
        self.quantity = quantity
        self.amountCents = amountCents
        self.checkoutToken = checkoutToken
        self.paymentWindowSeconds = paymentWindowSeconds
        self.email = email
        self.writeBy = writeBy
    }
}

/// How long a purchase may go on trying to write its order, against when the worker's ledger sweep
/// takes a reservation as abandoned. A write attempt starts before ``writeWindow`` has passed and
/// ends within 10 s (the order-write connections' close; `lock_timeout` and `statement_timeout`
/// are shorter), so a sweep at ``minimumSweepAge`` or later never races a write that could still
/// commit: what it does not find then is never written.
public enum LedgerBound {
    public static let writeWindow: Duration = .seconds(15)
    public static let minimumSweepAge: Duration = .seconds(30)
}

/// Commits won orders to PostgreSQL: the stock of record goes down and the order and its outbox
/// jobs are inserted, in one transaction. When it returns, the order is committed (invariant 4).
/// When it throws ``OrderOutcomeUnknown``, the order may be committed; any other error means it is not.
public protocol OrderCommitter: Sendable {
    func commit(_ order: PendingOrder) async throws -> Order
}

/// The write may have committed (the connection failed mid-statement) and PostgreSQL could not be
/// asked afterwards. The order is neither confirmed nor given back: its reservation-ledger entry
/// stays for the sweep, which finds out from PostgreSQL.
public struct OrderOutcomeUnknown: Error, CustomStringConvertible {
    public let underlying: any Error

    public init(underlying: any Error) {
        self.underlying = underlying
    }

    public var description: String { "order outcome unknown: \(PostgresErrorText.describe(underlying))" }
}
