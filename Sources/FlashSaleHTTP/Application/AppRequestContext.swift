import FlashSale
import Foundation
import Hummingbird

/// The request context of every FlashSale route: JSON in and out, snake_case keys (the API contract).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware on shopper routes.
    public var shopperID: String?
    /// The shopper token's `email` claim, if it had a plausible one.
    public var shopperEmail: String?
    /// The TCP peer's IP address (a proxy's, behind one: see ``ClientAddress``).
    public let peerAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        shopperID = nil
        shopperEmail = nil
        peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated shopper; only routes behind the authentication middleware call this.
    func requireShopper() throws -> String {
        guard let shopperID else { throw Problem.unauthorized("this route needs a shopper token") }
        return shopperID
    }

    public var requestDecoder: JSONDecoder { APIJSON.decoder }

    public var responseEncoder: JSONEncoder { APIJSON.encoder }
}
