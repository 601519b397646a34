import FlashSale
import Foundation
import Hummingbird

/// An RFC 9457 problem: the only error body the API sends. `code` is the stable field clients switch on.
public struct Problem: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let title: String
    public let detail: String
    public var headers: HTTPFields = [:]
    /// Extra members, e.g. the per-dependency checks of /readyz.
    public var extensions: [String: String] = [:]

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The answer itself. Routes on a hot path return it rather than throw the problem: an error
    /// unwinds every middleware's catch on its way out, which costs more than the answer's bytes.
    public func response() -> Response {
        let body = ProblemBody.render(
            status: Int(status.code), code: code, title: title, detail: detail, extensions: extensions)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem {
    public static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, code: "not_found", title: "Not found", detail: detail)
    }

    public static func invalidRequest(_ detail: String) -> Problem {
        Problem(status: .badRequest, code: "invalid_request", title: "Invalid request", detail: detail)
    }

    public static func unauthorized(_ detail: String) -> Problem {
        var problem = Problem(status: .unauthorized, code: "unauthorized", title: "Unauthorized", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer"
        return problem
    }

    public static func saleNotActive(_ saleID: String) -> Problem {
        Problem(
            status: .forbidden, code: "sale_not_active", title: "Sale not active",
            detail: "sale \(saleID) is not open for purchases now")
    }

    public static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> Problem {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        var problem = Problem(
            status: .methodNotAllowed, code: "method_not_allowed", title: "Method not allowed",
            detail: "\(method.rawValue) is not served here; this path answers \(list)")
        problem.headers[.allow] = list
        return problem
    }

    public static func unavailable(_ detail: String) -> Problem {
        Problem(status: .serviceUnavailable, code: "unavailable", title: "Service unavailable", detail: detail)
    }

    /// A dependency's circuit breaker is open: come back when it may let a call through.
    public static func unavailable(_ unavailable: DependencyUnavailable) -> Problem {
        var problem = Problem.unavailable("\(unavailable); try again in \(unavailable.retryAfterSeconds) s")
        problem.headers[.retryAfter] = String(unavailable.retryAfterSeconds)
        return problem
    }

    public static let internalError = Problem(
        status: .internalServerError, code: "internal", title: "Internal error",
        detail: "The request could not be completed; it has been logged.")
}
