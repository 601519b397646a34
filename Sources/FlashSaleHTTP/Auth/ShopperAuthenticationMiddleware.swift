import Hummingbird

/// Requires `Authorization: Bearer <JWT>` and puts the shopper id on the context.
struct ShopperAuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let tokens: ShopperTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Problem.unauthorized("send Authorization: Bearer <token>")
        }
        guard let shopperID = await tokens.shopperID(from: String(header.dropFirst("Bearer ".count))) else {
            throw Problem.unauthorized("the bearer token is malformed, wrongly signed or expired")
        }
        var context = context
        context.shopperID = shopperID
        return try await next(request, context)
    }
}
