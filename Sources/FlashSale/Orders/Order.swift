import Foundation

public enum OrderStatus: String, Sendable, Codable {
    /// `paying`: a payment took the order and the gateway is being asked; it still holds its units,
    /// and only that payment's answer moves it on (to `paid`, or back to `reserved`).
    case reserved, paying, paid, cancelled, expired
}

/// An order as PostgreSQL records it.
public struct Order: Sendable, Equatable {
    public let id: UUID
    public let saleID: String
    public let sku: String
    public let shopperID: String
    public let quantity: Int64
    public let amountCents: Int64
    public let status: OrderStatus
    public let payBy: Date
    public let createdAt: Date
    public let version: Int64

    public init(
        id: UUID, saleID: String, sku: String, shopperID: String, quantity: Int64, amountCents: Int64,
        status: OrderStatus, payBy: Date, createdAt: Date, version: Int64
    ) {
        self.id = id
        self.saleID = saleID
        self.sku = sku
        self.shopperID = shopperID
        self.quantity = quantity
        self.amountCents = amountCents
        self.status = status
        self.payBy = payBy
        self.createdAt = createdAt
        self.version = version
    }

    /// The id as the API and the job payloads spell it (lowercase UUID).
    public var reference: String { id.uuidString.lowercased() }
}

/// The order as the API shows it, encoded here (in `APIJSON`'s fixed form) rather than by a router,
/// because the purchase workflow stores these bytes for replays.
public struct OrderDocument: Codable, Sendable, Equatable {
    public let orderId: String
    public let saleId: String
    public let sku: String
    public let quantity: Int64
    public let amountCents: Int64
    public let status: OrderStatus
    public let payBy: Date
    public let createdAt: Date

    public init(_ order: Order) {
        orderId = order.reference
        saleId = order.saleID
        sku = order.sku
        quantity = order.quantity
        amountCents = order.amountCents
        status = order.status
        payBy = order.payBy
        createdAt = order.createdAt
    }

    /// The same bytes as `APIJSON.encoder` gives for this document (keys sorted), written by hand:
    /// every 201 of a purchase is one of these.
    public static func encode(_ order: Order) -> [UInt8] {
        var object = JSONObjectBytes(capacity: 240 + order.saleID.utf8.count + order.sku.utf8.count)
        object.integer("amount_cents", order.amountCents)
        object.timestamp("created_at", order.createdAt)
        object.text("order_id", order.reference)
        object.timestamp("pay_by", order.payBy)
        object.integer("quantity", order.quantity)
        object.text("sale_id", order.saleID)
        object.text("sku", order.sku)
        object.text("status", order.status.rawValue)
        return object.finish()
    }
}
