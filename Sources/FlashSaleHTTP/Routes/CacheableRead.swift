import FlashSale
import Foundation
import Hummingbird

/// The public reads (a sale, an item) as answers a client or a CDN may keep for a moment.
///
/// What a CDN in front of a flash sale should do: absorb the flood of identical reads (every
/// shopper refreshing the item page) and never decide a purchase. `available` changes many times a
/// second while a sale runs, so an answer is kept for at most a second (`max-age=1`): a CDN that
/// collapses concurrent misses then sends the origin about one read per URL per second per edge,
/// however many shoppers ask, and a shopper sees stock at most a second old. That is harmless
/// because the purchase itself (never cached, a POST with a bearer token) is what decides, and
/// answers 409 sold_out when the read was optimistic. Longer lifetimes would show "in stock" well
/// after a sell-out; `no-store` would send the whole flood to the origin.
///
/// The ETag is a hash of the body, so two instances of the service give the same tag for the same
/// answer; `If-None-Match` with it is answered 304 without a body (the read still costs us its work,
/// but not the bytes, and a CDN revalidates cheaply).
enum CacheableRead {
    static let cacheControl = "public, max-age=1"

    static func response(_ document: some Encodable, for request: Request, stockSource: LiveStock.Source) throws
        -> Response
    {
        response(body: Array(try APIJSON.encoder.encode(document)), for: request, stockSource: stockSource)
    }

    static func response(body: [UInt8], for request: Request, stockSource: LiveStock.Source) -> Response {
        let tag = entityTag(of: body)
        var response =
            matches(request.headers[values: .ifNoneMatch], tag)
            ? Response(status: .notModified) : JSONResponse.raw(body, status: .ok)
        response.headers[.eTag] = tag
        response.headers[.cacheControl] = cacheControl
        response.headers[.stockSource] = stockSource.rawValue
        return response
    }

    /// A strong tag: 64-bit FNV-1a of the body, the same in every process (Swift's `Hasher` is seeded per process).
    static func entityTag(of body: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// RFC 9110 §13.1.2: `*`, or any listed tag equal to ours under the weak comparison (`W/` ignored).
    static func matches(_ fields: [String], _ tag: String) -> Bool {
        fields.lazy.flatMap { $0.split(separator: ",") }.contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || (trimmed.hasPrefix("W/") ? trimmed.dropFirst(2) : Substring(trimmed)) == tag
        }
    }
}
