/// The sandbox of the API contract: `pm_card_ok` succeeds, `pm_card_declined` is declined.
///
/// Its answer is a function of the payment method alone, so `lookup` derives it rather than
/// remembering charges: the worker that settles a payment runs in another process than the
/// service that charged, and both must tell the same story. A sandbox charge is instant and
/// cannot be lost, so a payment left pending (a crash between the charge and its record) is
/// taken as charged, as the charge would have answered.
public struct SandboxPaymentGateway: PaymentGateway {
    public init() {}

    public func charge(_ charge: ChargeRequest) async throws -> PaymentResult {
        guard let result = Self.answer(charge.paymentMethod) else {
            throw PaymentGatewayError.unknownPaymentMethod(charge.paymentMethod)
        }
        return result
    }

    public func lookup(_ charge: ChargeRequest) async throws -> ChargeLookup {
        Self.answer(charge.paymentMethod).map(ChargeLookup.answered) ?? .notFound
    }

    static func answer(_ paymentMethod: String) -> PaymentResult? {
        switch paymentMethod {
        case "pm_card_ok": .succeeded
        case "pm_card_declined": .declined(reason: "the card was declined")
        default: nil
        }
    }
}
