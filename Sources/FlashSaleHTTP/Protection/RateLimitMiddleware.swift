import FlashSale
import Hummingbird

/// Holds the requests of one route group to its limits of the given scopes: in front of
/// authentication the client-IP and route-wide ones (a flood is refused before its tokens cost a
/// signature check), behind it the shopper's. A refusal is 429 `rate_limited` with `Retry-After`
/// and the `RateLimit` fields; an answer that passed carries the fields of its tightest limit.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let limits: [RateLimit]
    let limiter: RateLimiter
    /// Whether the allow-list or a client-address limit needs the client's address.
    private let needsClientAddress: Bool

    init(_ group: RateLimitPolicy.RouteGroup, scopes: Set<RateLimit.Scope>, limiter: RateLimiter) {
        limits = limiter.policy.limits(group).filter { scopes.contains($0.scope) }
        self.limiter = limiter
        needsClientAddress = !limiter.allowList.isEmpty || limits.contains { $0.scope == .clientIP }
    }

    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !limits.isEmpty else { return try await next(request, context) }
        // Resolved once: the allow-list and every client-address limit ask for it.
        let client =
            needsClientAddress ? ClientAddress.of(request, context: context, trusting: limiter.trustedProxies) : ""
        if !limiter.allowList.isEmpty, limiter.allowList.contains(client) { return try await next(request, context) }
        var tightest: RateLimitDecision?
        for limit in limits {
            guard let decision = await limiter.check(limit, subject: subject(of: limit, client: client, context)) else {
                continue
            }
            guard decision.allowed else { return Self.refusal(decision) }
            if tightest == nil || decision.remaining < tightest!.remaining { tightest = decision }
        }
        var response = try await next(request, context)
        if let tightest { RateLimitHeaders.add(tightest, to: &response.headers) }
        return response
    }

    /// Refusals answered from memory repeat, for the same limit, the same numbers within a second.
    private static let refusals = RenderedAnswers<RefusalKey>(capacity: 4096)

    private struct RefusalKey: Hashable {
        let limit: String
        let blocked: Bool
        let remaining: Int
        let retryAfterSeconds: Int
        let resetSeconds: Int
    }

    static func refusal(_ decision: RateLimitDecision) -> Response {
        let key = RefusalKey(
            limit: decision.limit.name, blocked: decision.block != .none, remaining: decision.remaining,
            retryAfterSeconds: decision.retryAfterSeconds, resetSeconds: decision.resetSeconds)
        return refusals.response(key) { Problem.rateLimited(decision).response() }
    }

    private func subject(of limit: RateLimit, client: String, _ context: Context) -> String {
        switch limit.scope {
        case .shopper: context.shopperID ?? "anonymous"
        case .clientIP: client
        case .route: "all"
        }
    }
}

extension Problem {
    static func rateLimited(_ decision: RateLimitDecision) -> Problem {
        let limit = decision.limit
        let per =
            switch limit.scope {
            case .shopper: "per shopper"
            case .clientIP: "per client address"
            case .route: "for everyone together"
            }
        let window =
            limit.windowSeconds == limit.windowSeconds.rounded() ? String(Int(limit.windowSeconds)) : String(limit.windowSeconds)
        let detail =
            decision.block == .none
            ? "limit \(limit.name): at most \(limit.quota) requests every \(window) s \(per); retry in \(decision.retryAfterSeconds) s"
            : "blocked for \(decision.retryAfterSeconds) s after refusal upon refusal (limit \(limit.name): at most "
                + "\(limit.quota) requests every \(window) s \(per))"
        var problem = Problem(status: .tooManyRequests, code: "rate_limited", title: "Too many requests", detail: detail)
        problem.headers[.retryAfter] = String(decision.retryAfterSeconds)
        RateLimitHeaders.add(decision, to: &problem.headers)
        return problem
    }
}
