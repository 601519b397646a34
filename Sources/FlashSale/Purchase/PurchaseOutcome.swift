/// Why a purchase attempt did not create an order. Each has a stable API code.
public enum PurchaseRejection: String, Sendable, Equatable {
    case invalidRequest = "invalid_request"
    case notFound = "not_found"
    case saleNotActive = "sale_not_active"
    case soldOut = "sold_out"
    case purchaseLimit = "purchase_limit"
    case requestInProgress = "request_in_progress"
    case invalidToken = "invalid_token"
    case idempotencyKeyReused = "idempotency_key_reused"
    case unavailable = "unavailable"
}

public enum PurchaseOutcome: Sendable, Equatable {
    /// The order is committed; `body` is the response, stored for replays.
    case created(body: [UInt8])
    case rejected(PurchaseRejection, detail: String)
    /// The token was used before and that request finished: answer exactly as then.
    case replayCreated(body: [UInt8])
    case replayRejected(PurchaseRejection, detail: String)
    /// A store's circuit breaker is open: nothing was taken; try again after its cool-down.
    case unavailable(DependencyUnavailable)
}
