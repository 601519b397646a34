import FlashSale
import Foundation

/// What a shopper token must say beyond a good signature: when it may be used, who issued it, whom
/// it is for, and how long it may live. A stolen token of unlimited lifetime is a permanent key.
public struct TokenPolicy: Sendable, Equatable {
    /// Required `iss` when set; tokens without it or with another are refused.
    public var issuer: String?
    /// Required among `aud` when set.
    public var audience: String?
    /// The longest `exp - iat` accepted (from now when a token has no `iat`).
    public var maximumLifetime: Duration
    /// Clock skew forgiven on `nbf` and `iat`: a token minted on a machine a little ahead of ours
    /// is not refused for being from the future.
    public var leeway: Duration

    public static let defaultMaximumLifetime = Duration.seconds(24 * 3600)
    public static let defaultLeeway = Duration.seconds(30)

    public init(
        issuer: String? = nil, audience: String? = nil, maximumLifetime: Duration = Self.defaultMaximumLifetime,
        leeway: Duration = Self.defaultLeeway
    ) {
        self.issuer = issuer
        self.audience = audience
        self.maximumLifetime = maximumLifetime
        self.leeway = leeway
    }

    /// Whether verified claims may be used at `now`. `exp` itself is checked by the claims' own
    /// verification, without leeway.
    func admits(
        issuedAt: Date?, notBefore: Date?, expires: Date, issuer: String?, audience: [String]?, now: Date
    ) -> Bool {
        let leeway = Self.seconds(self.leeway)
        if let notBefore, notBefore.timeIntervalSince(now) > leeway { return false }
        if let issuedAt, issuedAt.timeIntervalSince(now) > leeway { return false }
        if expires.timeIntervalSince(issuedAt ?? now) > Self.seconds(maximumLifetime) { return false }
        if let required = self.issuer, issuer != required { return false }
        if let required = self.audience, !(audience ?? []).contains(required) { return false }
        return true
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension TokenPolicy {
    /// The policy the service's settings describe.
    public init(_ configuration: FlashSaleConfiguration) {
        self.init(
            issuer: configuration.jwtIssuer, audience: configuration.jwtAudience,
            maximumLifetime: .seconds(configuration.jwtMaxLifetimeSeconds))
    }
}
