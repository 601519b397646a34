import HTTPTypes

/// Headers of the API contract that HTTPTypes does not name.
extension HTTPField.Name {
    static let stockSource = Self("Stock-Source")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
