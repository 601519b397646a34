import FlashSale
import Hummingbird

/// Who a request comes from, for the per-client-IP limits: the peer, or behind a trusted proxy the
/// address it forwarded. A request with no peer address (an in-memory test) counts as "unknown".
enum ClientAddress {
    static func of(_ request: Request, context: AppRequestContext, trusting proxies: TrustedProxies) -> String {
        guard let peer = context.peerAddress else { return "unknown" }
        return proxies.client(peer: peer, forwardedFor: request.headers[.forwardedFor])
    }
}
