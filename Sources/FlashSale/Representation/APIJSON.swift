import Foundation

/// The API's one JSON form: snake_case keys, sorted, whole-second RFC 3339 times, unescaped slashes.
/// Built once and shared: replays must be byte-for-byte the first answer, and building an encoder
/// per response costs a measurable share of a purchase answer.
///
/// Requests are read with the keys exactly as the contract spells them (each body names its own
/// snake_case coding keys): a key conversion would also accept `paymentMethod` for `payment_method`.
public enum APIJSON {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder = JSONDecoder()
}
