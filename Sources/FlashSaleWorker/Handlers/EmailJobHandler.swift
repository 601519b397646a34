import FlashSale
import FlashSaleEmail
import Foundation
import Logging
import PostgresNIO

/// Hands out delivery permits shared by every worker (the provider's rate and quotas).
public protocol DeliveryPermits: Sendable {
    /// Waits up to `maxWait` for a permit and answers nil once one is held; or, when the wait would
    /// be longer, takes none and answers how long until one is free.
    func waitForPermit(maxWait: Duration) async throws -> Duration?
}

/// `email`: one message per order event to the address the shopper's token carried at purchase.
/// An order without an address completes with nothing sent. Delivery is at least once; the
/// message's idempotency key, stable per (order, event), lets the provider deliver it once.
public struct EmailJobHandler: SingleJobHandler {
    public let kind = "email"
    public let concurrency: Int
    let postgres: PostgresClient
    let sender: any EmailSender
    let permits: (any DeliveryPermits)?
    /// A job waits this long for a permit while holding its lease; a longer wait hands it back.
    let longestPermitWait: Duration
    let metrics: WorkerMetrics
    let logger: Logger

    public init(
        postgres: PostgresClient, sender: any EmailSender, permits: (any DeliveryPermits)?, concurrency: Int = 8,
        longestPermitWait: Duration = .seconds(5), metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) {
        self.postgres = postgres
        self.sender = sender
        self.permits = permits
        self.concurrency = concurrency
        self.longestPermitWait = longestPermitWait
        self.metrics = metrics
        self.logger = logger
    }

    struct Payload: Decodable {
        let order_id: UUID
        let event: String
    }

    public func run(_ job: LeasedJob) async throws -> JobOutcome {
        let payload = try job.decode(Payload.self)
        guard let facts = try await OrderEmailFacts.load(payload.order_id, postgres: postgres, logger: logger) else {
            throw JobFailure.permanent("no order \(payload.order_id)")
        }
        guard let address = facts.email else { return .done }
        guard let message = facts.message(event: payload.event, to: address) else {
            throw JobFailure.permanent("unknown e-mail event \(payload.event)")
        }
        if let wait = sender.holdOff() { return .postponed(wait) }
        if let permits, let wait = try await permits.waitForPermit(maxWait: longestPermitWait) { return .postponed(wait) }
        do {
            try await sender.send(message)
        } catch let error as EmailDeliveryError {
            switch error {
            case .retryable(let reason, let after): throw JobFailure.retry(reason, after: after)
            case .permanent(let reason): throw JobFailure.permanent(reason)
            case .circuitOpen(let after): return .postponed(after)
            }
        }
        metrics.emailSent()
        return .done
    }
}

/// What an order e-mail says, read in one query.
struct OrderEmailFacts {
    let orderID: String
    let saleName: String
    let itemName: String
    let quantity: Int64
    let amountCents: Int64
    let payBy: Date
    let email: String?

    static func load(_ id: UUID, postgres: PostgresClient, logger: Logger) async throws -> OrderEmailFacts? {
        try await postgres.query(
            """
            SELECT s.name, i.name, o.quantity::bigint, o.amount_cents, o.pay_by, o.email
            FROM orders o JOIN sales s ON s.id = o.sale_id JOIN inventory i ON i.sale_id = o.sale_id AND i.sku = o.sku
            WHERE o.id = \(id)
            """, logger: logger
        ).decode((String, String, Int64, Int64, Date, String?).self).collectAll().first.map {
            OrderEmailFacts(
                orderID: id.uuidString.lowercased(), saleName: $0.0, itemName: $0.1, quantity: $0.2, amountCents: $0.3,
                payBy: $0.4, email: $0.5)
        }
    }

    func message(event: String, to address: String) -> EmailMessage? {
        let item = "\(quantity) × \(itemName)"
        let amount = String(format: "%d.%02d", amountCents / 100, amountCents % 100)
        let payBy = self.payBy.formatted(.iso8601)
        let (subject, lines): (String, [String])
        switch event {
        case "order_reserved":
            subject = "Reserved: \(itemName) — pay by \(payBy)"
            lines = [
                "Your order of \(item) in \(saleName) is reserved.", "Amount: \(amount)",
                "Pay by \(payBy), or the reservation expires and the units go back on sale.",
            ]
        case "order_paid":
            subject = "Paid: \(itemName)"
            lines = ["We received your payment of \(amount) for \(item) in \(saleName). Thank you."]
        case "order_cancelled":
            subject = "Cancelled: \(itemName)"
            lines = ["Your order of \(item) in \(saleName) is cancelled. Nothing was charged."]
        case "order_expired":
            subject = "Expired: \(itemName)"
            lines = ["Your reservation of \(item) in \(saleName) expired at \(payBy) without payment. Nothing was charged."]
        default:
            return nil
        }
        return EmailMessage(
            idempotencyKey: "email:\(orderID):\(event)", orderID: orderID, event: event, to: address, subject: subject,
            text: (lines + ["", "Order \(orderID)"]).joined(separator: "\n"))
    }
}
