import Foundation

/// Which limits apply to which routes. Every request passes each limit of its route group that
/// applies to it; the first refusal answers 429.
public struct RateLimitPolicy: Sendable, Equatable {
    /// Routes that share limits.
    public enum RouteGroup: String, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
        /// Sale and item pages (`GET /v1/sales/…`).
        case browse
        /// `POST /v1/sales/{id}/checkout-tokens`.
        case checkoutTokens = "checkout_tokens"
        /// `POST /v1/sales/{id}/orders`.
        case orders
        /// `POST /v1/orders/{id}/pay` and `…/cancel`.
        case payments
        /// A shopper's own orders (`GET /v1/orders…`).
        case account

        /// Which goes first when requests are shed.
        public var priority: RequestPriority {
            switch self {
            case .browse, .account: .read
            case .checkoutTokens: .checkout
            case .orders, .payments: .purchase
            }
        }
    }

    /// When a client that keeps being refused is blocked outright.
    public struct Blocking: Sendable, Equatable, Codable {
        /// Refusals (from Redis: at most one per retry time per instance) that block the subject…
        public var strikes: Int
        /// …when they come within this many seconds of the first…
        public var withinSeconds: Double
        /// …for this many seconds, on every limit of its scope and every instance.
        public var blockSeconds: Double

        public init(strikes: Int, withinSeconds: Double, blockSeconds: Double) {
            self.strikes = strikes
            self.withinSeconds = withinSeconds
            self.blockSeconds = blockSeconds
        }

        enum CodingKeys: String, CodingKey {
            case strikes
            case withinSeconds = "within_seconds"
            case blockSeconds = "block_seconds"
        }
    }

    public var groups: [RouteGroup: [RateLimit]]
    /// Nil: refusals never block.
    public var blocking: Blocking?

    public init(groups: [RouteGroup: [RateLimit]], blocking: Blocking? = nil) {
        self.groups = groups
        self.blocking = blocking
    }

    public static let off = RateLimitPolicy(groups: [:])

    public func limits(_ group: RouteGroup) -> [RateLimit] { groups[group] ?? [] }

    /// What a shopper on a phone never meets and a bot meets at once. Per client IP they assume
    /// the proxies in front of the service are listed in `TRUSTED_PROXIES`.
    public static let defaults = RateLimitPolicy(
        groups: [
            .browse: [
                RateLimit(name: "browse-ip", scope: .clientIP, algorithm: .tokenBucket, quota: 20, windowSeconds: 1, burst: 40)
            ],
            .checkoutTokens: [
                RateLimit(name: "tokens-ip", scope: .clientIP, algorithm: .tokenBucket, quota: 20, windowSeconds: 1, burst: 40),
                RateLimit(
                    name: "tokens-shopper", scope: .shopper, algorithm: .tokenBucket, quota: 10, windowSeconds: 60, burst: 5),
            ],
            .orders: [
                RateLimit(name: "orders-ip", scope: .clientIP, algorithm: .tokenBucket, quota: 20, windowSeconds: 1, burst: 40),
                RateLimit(name: "orders-shopper", scope: .shopper, algorithm: .gcra, quota: 2, windowSeconds: 1, burst: 5),
            ],
            .payments: [
                RateLimit(
                    name: "payments-shopper", scope: .shopper, algorithm: .tokenBucket, quota: 5, windowSeconds: 1, burst: 10)
            ],
            .account: [
                RateLimit(name: "account-shopper", scope: .shopper, algorithm: .slidingWindow, quota: 60, windowSeconds: 60)
            ],
        ],
        // A phone refused twice backs off; a bot refused twenty times in ten seconds sits out a minute.
        blocking: Blocking(strikes: 20, withinSeconds: 10, blockSeconds: 60))

    /// The file of `RATE_LIMITS_FILE`: `{"groups": {"orders": [{"name": …, "scope": …, "algorithm": …,
    /// "quota": …, "window_seconds": …, "burst": …}], …}}`. A group in the file replaces the
    /// default one (`[]` lifts its limits); a group not in it keeps the defaults. `"blocking":
    /// {"strikes": …, "within_seconds": …, "block_seconds": …}` replaces the blocking, `null` ends it.
    public static func overriding(_ base: RateLimitPolicy, with json: Data) throws(PolicyError) -> RateLimitPolicy {
        struct File: Decodable {
            var groups: [RouteGroup: [RateLimit]]
            /// Absent: unchanged; null: no blocking.
            var blocking: Blocking??

            enum CodingKeys: String, CodingKey { case groups, blocking }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                groups = try container.decodeIfPresent([RouteGroup: [RateLimit]].self, forKey: .groups) ?? [:]
                blocking =
                    container.contains(.blocking) ? .some(try container.decodeIfPresent(Blocking.self, forKey: .blocking)) : .none
            }
        }
        let decoder = JSONDecoder()
        let file: File
        do {
            file = try decoder.decode(File.self, from: json)
        } catch {
            throw PolicyError(Self.describe(error))
        }
        var policy = base
        for (group, limits) in file.groups {
            for limit in limits { try validate(limit) }
            policy.groups[group] = limits
        }
        if let blocking = file.blocking {
            if let blocking {
                guard blocking.strikes >= 1, blocking.withinSeconds >= 0.001, blocking.blockSeconds >= 0.001 else {
                    throw PolicyError("blocking: strikes must be at least 1, within_seconds and block_seconds above 0")
                }
            }
            policy.blocking = blocking
        }
        var names: Set<String> = []
        for limit in policy.groups.values.flatMap({ $0 }) where !names.insert(limit.name).inserted {
            // One name is one budget in Redis: two limits sharing it would spend each other's.
            throw PolicyError("the limit name '\(limit.name)' is used twice")
        }
        return policy
    }

    static func validate(_ limit: RateLimit) throws(PolicyError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        guard !limit.name.isEmpty, limit.name.utf8.count <= 64, limit.name.utf8.allSatisfy(allowed.contains) else {
            throw PolicyError("'\(limit.name)' is not a limit name (lower-case letters, digits, - and _, at most 64)")
        }
        guard limit.quota >= 1 else { throw PolicyError("\(limit.name): quota must be at least 1") }
        guard limit.windowSeconds >= 0.001, limit.windowSeconds <= 86_400 else {
            throw PolicyError("\(limit.name): window_seconds must be from 0.001 to 86400")
        }
        if let burst = limit.burst, burst < 1 { throw PolicyError("\(limit.name): burst must be at least 1") }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not valid JSON: \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): return "\(context.debugDescription) at \(path(context))"
        case DecodingError.keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.debugDescription) at \(path(context))"
        default: return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    public struct PolicyError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
