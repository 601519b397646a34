#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// IP addresses and CIDR ranges, IPv4 or IPv6, as written in a comma-separated setting
/// (`TRUSTED_PROXIES`, `RATE_LIMIT_ALLOWLIST`).
public struct IPRanges: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        let address: [UInt8]
        let prefix: Int

        func contains(_ bytes: [UInt8]) -> Bool {
            guard bytes.count == address.count else { return false }
            var bits = prefix
            for (a, b) in zip(address, bytes) where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    let ranges: [Range]

    public static let none = IPRanges(ranges: [])

    init(ranges: [Range]) {
        self.ranges = ranges
    }

    /// - Throws: the entry that is neither an address nor a range.
    public init(parsing list: String) throws(RateLimitPolicy.PolicyError) {
        var ranges: [Range] = []
        for entry in list.split(separator: ",").map({ $0.trimmingSpaces }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let address = Self.bytes(parts[0]) else {
                throw RateLimitPolicy.PolicyError("'\(entry)' is not an IP address or a CIDR range")
            }
            let prefix = parts.count == 2 ? Int(parts[1]) : address.count * 8
            guard let prefix, (0...(address.count * 8)).contains(prefix) else {
                throw RateLimitPolicy.PolicyError("'\(entry)' has no valid prefix length")
            }
            ranges.append(Range(address: address, prefix: prefix))
        }
        self.ranges = ranges
    }

    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ address: String) -> Bool {
        guard !ranges.isEmpty, let bytes = Self.bytes(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The address's bytes (4 or 16), or nil when `text` is not one.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func isAddress(_ text: String) -> Bool { bytes(text) != nil }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
