import Foundation

/// One e-mail about one order event, as the worker hands it to an ``EmailSender``.
public struct EmailMessage: Sendable, Equatable {
    /// Stable per (order, event): the same e-mail retried carries the same key, so a provider that
    /// deduplicates by it delivers once however often the job runs.
    public let idempotencyKey: String
    public let orderID: String
    /// `order_reserved`, `order_paid`, `order_cancelled` or `order_expired`.
    public let event: String
    public let to: String
    public let subject: String
    /// Plain text, lines separated by "\n".
    public let text: String

    public init(idempotencyKey: String, orderID: String, event: String, to: String, subject: String, text: String) {
        self.idempotencyKey = idempotencyKey
        self.orderID = orderID
        self.event = event
        self.to = to
        self.subject = subject
        self.text = text
    }
}
