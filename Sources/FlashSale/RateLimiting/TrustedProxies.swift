/// The proxies (load balancers) whose `X-Forwarded-For` is believed, from `TRUSTED_PROXIES`.
/// Nobody's, unless set: a client can write any `X-Forwarded-For` it likes.
public struct TrustedProxies: Sendable, Equatable {
    public let ranges: IPRanges

    public static let none = TrustedProxies(ranges: .none)

    public init(ranges: IPRanges) {
        self.ranges = ranges
    }

    public init(parsing list: String) throws(RateLimitPolicy.PolicyError) {
        ranges = try IPRanges(parsing: list)
    }

    public func contains(_ address: String) -> Bool { ranges.contains(address) }

    /// The client behind `peer`: the nearest `X-Forwarded-For` entry that is not a trusted proxy,
    /// when `peer` is one; `peer` itself otherwise.
    public func client(peer: String, forwardedFor: String?) -> String {
        guard let forwardedFor, contains(peer) else { return peer }
        var client = peer
        for entry in forwardedFor.split(separator: ",").reversed().map({ $0.trimmingSpaces }) {
            guard IPRanges.isAddress(entry) else { break }
            client = entry
            if !contains(entry) { break }
        }
        return client
    }
}
