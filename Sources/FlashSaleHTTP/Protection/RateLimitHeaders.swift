import FlashSale
import HTTPTypes

/// The IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers):
/// structured-field lists naming each policy, with its quota `q` per window `w` seconds, and what
/// is left of it `r` until `t` seconds from now. Names are checked at start to be plain tokens,
/// so they need no escaping inside the quotes.
enum RateLimitHeaders {
    static func add(_ decision: RateLimitDecision, to fields: inout HTTPFields) {
        let window = Int(decision.limit.windowSeconds.rounded(.up))
        fields.append(
            HTTPField(name: .rateLimitPolicy, value: "\"\(decision.limit.name)\";q=\(decision.limit.quota);w=\(window)"))
        fields.append(
            HTTPField(name: .rateLimit, value: "\"\(decision.limit.name)\";r=\(decision.remaining);t=\(decision.resetSeconds)"))
    }
}
