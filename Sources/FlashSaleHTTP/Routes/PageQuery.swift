import Foundation
import Hummingbird

/// `limit` and `cursor` of a paginated list (keyset pagination: a cursor names the last entry of
/// the page before, so a page costs the same however deep it is). Bad input is 400 invalid_request.
///
/// A cursor is opaque to clients: base64url of `<kind>:<position>`, so one list's cursor is
/// garbage to another and the position's form can change without breaking the contract.
struct PageQuery {
    let limit: Int
    /// The position the page starts after, or nil for the first page.
    let after: String?

    /// `isPosition` says whether a decoded position could be one this list gave out.
    init(_ request: Request, kind: String, defaultLimit: Int, maximumLimit: Int, isPosition: (String) -> Bool) throws {
        let query = request.uri.queryParameters
        if let text = query["limit"] {
            guard let limit = Int(text), (1...maximumLimit).contains(limit) else {
                throw Problem.invalidRequest("limit must be a whole number from 1 to \(maximumLimit)")
            }
            self.limit = limit
        } else {
            limit = defaultLimit
        }
        // An empty cursor is read as none: clients that always send the parameter start at the first page.
        if let cursor = query["cursor"], !cursor.isEmpty {
            guard let position = Self.position(in: String(cursor), kind: kind), isPosition(position) else {
                throw Problem.invalidRequest("cursor is not a next_cursor this list gave out")
            }
            after = position
        } else {
            after = nil
        }
    }

    private static func position(in cursor: String, kind: String) -> String? {
        guard cursor.utf8.count <= 256,
            cursor.utf8.allSatisfy({ $0.isBase64URL })
        else { return nil }
        let standard = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let padded = standard + String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: padded), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("\(kind):")
        else { return nil }
        return String(text.dropFirst(kind.count + 1))
    }
}

/// A list's `next_cursor`: the cursor of the page after this one, or null (written out, not left
/// out) when this page is the last.
struct NextCursor: Encodable {
    let cursor: String?

    /// The cursor of the page after `position` (nil: no page after this one).
    init(kind: String, after position: String?) {
        cursor = position.map { position in
            Data("\(kind):\(position)".utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(cursor)
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        switch self {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
