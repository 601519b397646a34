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
        var body: [String: JSONValue] = [
            "type": .string("https://flashsale.dev/problems/\(code.replacingOccurrences(of: "_", with: "-"))"),
            "title": .string(title),
            "status": .integer(Int(status.code)),
            "detail": .string(detail),
            "code": .string(code),
        ]
        for (key, value) in extensions where body[key] == nil { body[key] = .string(value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(body)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    public static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, code: "not_found", title: "Not found", detail: detail)
    }

    public static func invalidRequest(_ detail: String) -> Problem {
        Problem(status: .badRequest, code: "invalid_request", title: "Invalid request", detail: detail)
    }

    public static func unavailable(_ detail: String) -> Problem {
        Problem(status: .serviceUnavailable, code: "unavailable", title: "Service unavailable", detail: detail)
    }

    public static let internalError = Problem(
        status: .internalServerError, code: "internal", title: "Internal error",
        detail: "The request could not be completed; it has been logged.")
}

/// The few JSON shapes a problem body needs, so it can be encoded without a dictionary of `Any`.
enum JSONValue: Encodable {
    case string(String)
    case integer(Int)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        }
    }
}
