/// Delivers e-mails: an HTTP provider, or a local outbox folder when none is configured.
public protocol EmailSender: Sendable {
    /// Returns once the provider accepted the message. Throws ``EmailDeliveryError`` for an answer
    /// the worker should act on (retry later, or give up); any other error is retried.
    func send(_ message: EmailMessage) async throws

    /// How long no message would be sent right now (an open circuit breaker), or nil. Asked before a
    /// rate-limit permit is taken, so a provider outage does not spend the provider's quotas.
    func holdOff() -> Duration?
}

extension EmailSender {
    public func holdOff() -> Duration? { nil }
}

public enum EmailDeliveryError: Error, Equatable, CustomStringConvertible {
    /// Worth trying again: a 5xx, a 429, a timeout, a connection refused. `retryAfter` is what the
    /// provider asked for (its `Retry-After`), if anything.
    case retryable(String, retryAfter: Duration?)
    /// The provider refused the message itself (a 4xx other than 429): retrying cannot help.
    case permanent(String)
    /// Not sent at all: the provider's circuit breaker is open. Not an attempt of the message's,
    /// so the job is put off by `retryAfter` without using up one of its tries.
    case circuitOpen(retryAfter: Duration)

    public var description: String {
        switch self {
        case .retryable(let reason, let after):
            after.map { "\(reason) (retry after \($0))" } ?? reason
        case .permanent(let reason): reason
        case .circuitOpen(let after): "circuit open: the provider keeps failing (retry after \(after))"
        }
    }
}
