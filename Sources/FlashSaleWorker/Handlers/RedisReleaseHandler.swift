import FlashSale

/// `redis_release`: a cancelled or expired order's units back into Redis, the part the request
/// (or the expiry) could not finish right after its commit. The release marker makes a second run
/// a no-op.
public struct RedisReleaseHandler: SingleJobHandler {
    public let kind = "redis_release"
    let reservations: StockReservations

    public init(reservations: StockReservations) {
        self.reservations = reservations
    }

    struct Payload: Decodable {
        let order_id: String
        let sale_id: String
        let sku: String
        let shopper_id: String
        let quantity: Int64
    }

    public func run(_ job: LeasedJob) async throws -> JobOutcome {
        let payload = try job.decode(Payload.self)
        try await reservations.release(
            saleID: payload.sale_id, sku: payload.sku, orderID: payload.order_id, shopperID: payload.shopper_id,
            quantity: payload.quantity)
        return .done
    }
}
