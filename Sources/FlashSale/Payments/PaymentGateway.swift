import Foundation

/// Charges a shopper. The idempotency key lets a real provider deduplicate our retries.
public protocol PaymentGateway: Sendable {
    func charge(orderID: UUID, amountCents: Int64, paymentMethod: String, idempotencyKey: String) async throws
        -> PaymentResult
}

public enum PaymentResult: Sendable, Equatable {
    case succeeded
    case declined(reason: String)
}

public enum PaymentGatewayError: Error, Equatable {
    case unknownPaymentMethod(String)
}

/// The sandbox of the API contract: `pm_card_ok` succeeds, `pm_card_declined` is declined.
public struct SandboxPaymentGateway: PaymentGateway {
    public init() {}

    public func charge(orderID: UUID, amountCents: Int64, paymentMethod: String, idempotencyKey: String) async throws
        -> PaymentResult
    {
        switch paymentMethod {
        case "pm_card_ok": return .succeeded
        case "pm_card_declined": return .declined(reason: "the card was declined")
        default: throw PaymentGatewayError.unknownPaymentMethod(paymentMethod)
        }
    }
}
