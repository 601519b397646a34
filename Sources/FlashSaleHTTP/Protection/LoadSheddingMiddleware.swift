import FlashSale
import Hummingbird

/// Sheds the requests of one route group when the service is past its adaptive limit on requests
/// in flight: 503 `unavailable` with `Retry-After: 1`, at once, before any work. An admitted
/// request is never shed later, so no reservation is ever made for a request that is then dropped.
struct LoadSheddingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let priority: RequestPriority
    let shedder: LoadShedder

    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let response = try await shedder.run(priority, { try await next(request, context) }) { return response }
        var problem = Problem.unavailable("the service is at capacity; try again in a second")
        problem.headers[.retryAfter] = "1"
        return problem.response()
    }
}
