import Foundation

/// A sale as the operator defines it on the seed command line.
public struct SaleDefinition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var startsAt: Date
    public var endsAt: Date
    public var paymentWindowSeconds: Int64

    public init(id: String, name: String, startsAt: Date, endsAt: Date, paymentWindowSeconds: Int64 = 600) {
        self.id = id
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.paymentWindowSeconds = paymentWindowSeconds
    }

    /// Sale ids and SKUs share the schema's rule: they become URL segments and Redis key parts.
    public static func isValidIdentifier(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
    }

    public func validate() throws(SeedInputError) {
        guard Self.isValidIdentifier(id) else {
            throw SeedInputError("sale id '\(id)' must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        guard !name.isEmpty else { throw SeedInputError("the sale needs a name") }
        guard endsAt > startsAt else {
            throw SeedInputError(
                "the sale ends (\(endsAt.formatted(.iso8601))) before it starts (\(startsAt.formatted(.iso8601)))")
        }
        guard paymentWindowSeconds > 0 else { throw SeedInputError("the payment window must be positive") }
    }
}
