import Foundation
import Synchronization

/// Verdicts on tokens already verified, so a shopper's every request does not pay an HMAC and a
/// JSON decoding. Bounded, and segmented so that a flood of distinct valid tokens cannot push out
/// the tokens shoppers keep using: a token enters on probation, and only a second use promotes it
/// to the protected segment; a full probation segment is simply emptied, which costs the flood
/// (each of its tokens seen once) and nobody else. The protected segment keeps two generations:
/// when the current one is full it becomes the previous one, and a hit there moves the token back
/// into the current one, so tokens in use survive a turnover and idle ones age out.
final class VerifiedTokenCache<Value: Sendable>: Sendable {
    private struct Segments {
        var probation: [String: Value] = [:]
        var current: [String: Value] = [:]
        var previous: [String: Value] = [:]
    }

    private let segments = Mutex(Segments())
    let probationLimit: Int
    let protectedLimit: Int

    init(probationLimit: Int, protectedLimit: Int) {
        self.probationLimit = probationLimit
        self.protectedLimit = protectedLimit
    }

    /// The cached value, promoting a token seen before.
    func value(for token: String) -> Value? {
        segments.withLock { segments in
            if let value = segments.current[token] { return value }
            if let value = segments.previous.removeValue(forKey: token) ?? segments.probation.removeValue(forKey: token) {
                Self.insert(token, value, into: &segments, limit: protectedLimit)
                return value
            }
            return nil
        }
    }

    /// A token just verified: on probation until its second use.
    func admit(_ token: String, _ value: Value) {
        segments.withLock { segments in
            if segments.probation.count >= probationLimit { segments.probation.removeAll(keepingCapacity: true) }
            segments.probation[token] = value
        }
    }

    func forget(_ token: String) {
        segments.withLock { segments in
            segments.probation[token] = nil
            segments.current[token] = nil
            segments.previous[token] = nil
        }
    }

    /// Entries held, for tests and gauges.
    var count: Int {
        segments.withLock { $0.probation.count + $0.current.count + $0.previous.count }
    }

    private static func insert(_ token: String, _ value: Value, into segments: inout Segments, limit: Int) {
        if segments.current.count >= limit {
            segments.previous = segments.current
            segments.current = [:]
        }
        segments.current[token] = value
    }
}
