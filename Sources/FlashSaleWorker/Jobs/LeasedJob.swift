import Foundation

/// A job a worker holds the lease of: it alone runs it until `leased_until`.
public struct LeasedJob: Sendable, Equatable {
    public let id: Int64
    public let kind: String
    /// The job's `payload` as JSON text; each handler decodes the fields it needs.
    public let payload: String
    /// Including this run.
    public let attempts: Int
    public let maxAttempts: Int
    /// When the job was due: its latency is measured from here.
    public let runAt: Date

    public init(id: Int64, kind: String, payload: String, attempts: Int, maxAttempts: Int, runAt: Date) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.runAt = runAt
    }

    /// The payload decoded as `T`; a payload that is not one is a job no retry can fix.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload.utf8))
        } catch {
            throw JobFailure.permanent("payload of \(kind) job \(id) is not what it should be: \(error)")
        }
    }
}

/// How a job's run ended, as the queue records it.
public enum JobOutcome: Sendable, Equatable {
    /// Done: the row is deleted.
    case done
    /// Failed: run again after a back-off, or dead once its attempts are used up. `after` overrides
    /// the back-off (a provider's `Retry-After`).
    case failed(String, after: Duration? = nil)
    /// No retry can help: dead at once, kept with its error until re-queued.
    case dead(String)
    /// Not run (a rate limit, an open breaker, a `pay_by` not reached yet): due again after `after`,
    /// the attempt not counted.
    case postponed(Duration)
}

/// What a handler throws to choose its outcome; any other error is `.failed`.
public enum JobFailure: Error, Equatable, CustomStringConvertible {
    case permanent(String)
    case retry(String, after: Duration?)

    public var description: String {
        switch self {
        case .permanent(let reason), .retry(let reason, _): reason
        }
    }
}
