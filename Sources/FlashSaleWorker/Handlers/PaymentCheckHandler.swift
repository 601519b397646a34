import FlashSale
import Foundation

/// `payment_check`, written with every pending payment and due once no request can still be waiting
/// for its charge: settles a payment whose answer was lost (a gateway timeout, a crash between the
/// charge and its record, a client gone) by asking the gateway what it did with the charge. A charge
/// found: the order is paid (or back to reserved after a decline). None found: the payment is given
/// up once a late charge can no longer land, the order goes back to reserved, and the order's expiry
/// (waiting while it was paying) expires it if `pay_by` has passed. It never charges.
public struct PaymentCheckHandler: SingleJobHandler {
    public let kind = "payment_check"
    public let concurrency = 8
    let settlement: PaymentSettlement

    public init(settlement: PaymentSettlement) {
        self.settlement = settlement
    }

    struct Payload: Decodable {
        let payment_id: Int64
    }

    public func run(_ job: LeasedJob) async throws -> JobOutcome {
        switch try await settlement.settle(paymentID: job.decode(Payload.self).payment_id) {
        case .finished, .notCharged: .done
        case .undecided(let retryAfter): .postponed(retryAfter)
        }
    }
}
