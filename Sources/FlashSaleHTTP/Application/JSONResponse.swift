import FlashSale
import Hummingbird

/// JSON bodies in the API's one format: snake_case keys, sorted, RFC 3339 times.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        raw(Array(try APIJSON.encoder.encode(value)), status: status)
    }

    static func raw(_ body: [UInt8], status: HTTPResponse.Status, replayed: Bool = false) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
