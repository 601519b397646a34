import Hummingbird
import Logging

/// Turns every error into problem+json: routing errors (unknown path, wrong method, bad body) keep
/// their 4xx status under a stable code; anything unexpected is logged and answered 500, never a crash.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            throw Problem(
                status: error.status, code: Self.code(for: error.status),
                title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
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
