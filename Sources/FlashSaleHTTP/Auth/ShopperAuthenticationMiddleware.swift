import Hummingbird

/// Requires `Authorization: Bearer <JWT>` and puts the shopper id on the context.
struct ShopperAuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let tokens: ShopperTokens

    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], let token = Self.bearerToken(header) else {
            throw Problem.unauthorized("send Authorization: Bearer <token>")
        }
        guard let shopper = await tokens.shopper(from: token) else {
            throw Problem.unauthorized("the bearer token is malformed, wrongly signed or expired")
        }
        var context = context
        context.shopperID = shopper.id
        context.shopperEmail = shopper.email
        return try await next(request, context)
    }

    /// The credentials of a `Bearer` header. The scheme is case-insensitive (RFC 9110, 11.1):
    /// `bearer <token>` is as good as `Bearer <token>`.
    static func bearerToken(_ header: String) -> String? {
        let scheme = "bearer".utf8
        let utf8 = header.utf8
        // Byte by byte, without lowercasing a copy: this runs on every shopper request.
        guard utf8.count > scheme.count + 1, zip(utf8, scheme).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        let rest = utf8.dropFirst(scheme.count)
        guard rest.first == UInt8(ascii: " ") else { return nil }
        let token = rest.drop { $0 == UInt8(ascii: " ") }
        return token.isEmpty ? nil : String(Substring(token))
    }
}
