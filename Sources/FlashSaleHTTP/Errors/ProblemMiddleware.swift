import FlashSale
import Hummingbird
import Logging
import PostgresNIO
import RedisClient

/// Turns every error into problem+json: routing errors (unknown path, wrong method, bad body) keep
/// their 4xx status under a stable code; anything unexpected is logged and answered 500, never a crash.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Turns the router's 404 for a known path asked with the wrong method into 405.
    let routeMethods: RouteMethods

    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            if error.status == .notFound {
                let allowed = routeMethods.allowed(for: request.uri.path)
                if !allowed.isEmpty, !allowed.contains(request.method) {
                    throw Problem.methodNotAllowed(request.method, allowed: allowed)
                }
            }
            throw Problem(
                status: error.status, code: Self.code(for: error.status),
                title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        } catch let unavailable as DependencyUnavailable {
            throw Problem.unavailable(unavailable)
        } catch is Deadline.Exceeded {
            throw Problem.unavailable("the service is slow to answer right now; try again")
        } catch let error as PostgresTransactionError {
            context.logger.error("PostgreSQL transaction failed", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem.unavailable("the database cannot answer right now; try again")
        } catch let error as PSQLError {
            // The database is down or overloaded: the client should retry, not report a bug.
            context.logger.error("PostgreSQL error", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem.unavailable("the database cannot answer right now; try again")
        } catch let error as RedisError {
            context.logger.error("Redis error", metadata: ["error": "\(error)"])
            throw Problem.unavailable("the stock service cannot answer right now; try again")
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw Problem.internalError
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .badRequest: "invalid_request"
        case .unauthorized: "unauthorized"
        case .contentTooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        default: status.code < 500 ? "invalid_request" : "internal"
        }
    }
}
