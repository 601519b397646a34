import Foundation

/// Charges a shopper's card, and tells what became of a charge it was asked for.
///
/// `charge` throws ``PaymentGatewayError/unknownPaymentMethod(_:)`` when it refused the request
/// without charging; any other error leaves the outcome unknown (the request may have been acted on).
/// Such a payment is settled with `lookup`, never by charging again.
public protocol PaymentGateway: Sendable {
    func charge(_ charge: ChargeRequest) async throws -> PaymentResult
    /// What the gateway did with the charge under `charge.idempotencyKey`, if anything.
    func lookup(_ charge: ChargeRequest) async throws -> ChargeLookup
}

/// One charge as the gateway is asked for it.
public struct ChargeRequest: Sendable, Equatable {
    public let orderID: UUID
    public let amountCents: Int64
    public let paymentMethod: String
    /// Scoped to (order, client key): the gateway keeps one charge per key, so a charge sent twice is one charge.
    public let idempotencyKey: String

    public init(orderID: UUID, amountCents: Int64, paymentMethod: String, idempotencyKey: String) {
        self.orderID = orderID
        self.amountCents = amountCents
        self.paymentMethod = paymentMethod
        self.idempotencyKey = idempotencyKey
    }

    /// The gateway's key for the client's `key` on `orderID`: the same client key on another order
    /// is another charge, and the same one on this order is always this charge.
    public static func gatewayKey(orderID: UUID, clientKey: String) -> String {
        "order-\(orderID.uuidString.lowercased())-\(clientKey)"
    }
}

public enum PaymentResult: Sendable, Equatable {
    case succeeded
    case declined(reason: String)
}

public enum ChargeLookup: Sendable, Equatable {
    /// The gateway has the charge and answered it so.
    case answered(PaymentResult)
    /// The gateway has no charge under this key.
    case notFound
}

public enum PaymentGatewayError: Error, Equatable {
    case unknownPaymentMethod(String)
}
