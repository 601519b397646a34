import Crypto
import Foundation

/// Signs the bodies of provider requests, Stripe-style: `t=<unix seconds>,v1=<hex HMAC-SHA256>`
/// over `"<t>.<body>"`.
///
/// Why both a timestamp and the body: the HMAC proves the request came from us and was not
/// altered; the timestamp inside the signed text lets the provider refuse an old request that an
/// eavesdropper replays, without keeping a list of every signature it has seen.
public struct EmailSignature: Sendable {
    /// The header the signature travels in.
    public static let headerName = "FlashSale-Signature"
    /// How far a provider should let a timestamp drift from its own clock (Stripe uses 5 minutes).
    public static let defaultTolerance: Duration = .seconds(300)

    private let key: SymmetricKey

    /// - Parameter secret: `EMAIL_SIGNING_SECRET`, shared with the provider (at least 32 bytes, so
    ///   the HMAC key carries 256 bits; ``EmailSettings`` checks that).
    public init(secret: some Sequence<UInt8>) {
        key = SymmetricKey(data: Array(secret))
    }

    public init(secret: String) {
        self.init(secret: Array(secret.utf8))
    }

    /// The header value for `body` sent at `timestamp` (seconds since 1970).
    public func sign(body: some Collection<UInt8>, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Self.signedPayload(body: body, timestamp: timestamp), using: key)
        return "t=\(timestamp),v1=\(Self.hex(mac))"
    }

    /// Why a signature was refused.
    public enum VerificationFailure: Error, Equatable, CustomStringConvertible {
        /// No `t=` or no `v1=` element, or one that is not a number / not hex.
        case malformedHeader
        /// The timestamp is further than the tolerance from `now`: a replay, or a clock gone wrong.
        case timestampOutsideTolerance
        /// No `v1` signature matches the body: forged, altered, or signed with another secret.
        case signatureMismatch

        public var description: String {
            switch self {
            case .malformedHeader: "malformed signature header"
            case .timestampOutsideTolerance: "signature timestamp outside the tolerance"
            case .signatureMismatch: "no signature matches the body"
            }
        }
    }

    /// Checks a header as a provider would: the timestamp within `tolerance` of `now`, and one of
    /// its `v1` signatures (several are allowed, for key rotation) the HMAC of the body. The
    /// comparison is constant-time, so timing reveals nothing about the expected signature.
    public func verify(
        header: String, body: some Collection<UInt8>, now: Date = Date(), tolerance: Duration = defaultTolerance
    ) throws(VerificationFailure) {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for element in header.split(separator: ",") {
            let parts = element.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            switch name {
            case "t":
                guard let seconds = Int64(value) else { throw .malformedHeader }
                timestamp = seconds
            case "v1":
                guard let bytes = Self.bytes(hex: value) else { throw .malformedHeader }
                signatures.append(bytes)
            default:
                continue  // future schemes (v2, …) are ignored, as Stripe's clients do
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        let drift = abs(now.timeIntervalSince1970 - Double(timestamp))
        guard drift <= Double(tolerance.components.seconds) + Double(tolerance.components.attoseconds) / 1e18 else {
            throw .timestampOutsideTolerance
        }
        let payload = Self.signedPayload(body: body, timestamp: timestamp)
        for signature in signatures
        where HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payload, using: key) {
            return
        }
        throw .signatureMismatch
    }

    static func signedPayload(body: some Collection<UInt8>, timestamp: Int64) -> [UInt8] {
        var payload = Array("\(timestamp).".utf8)
        payload.reserveCapacity(payload.count + body.count)
        payload.append(contentsOf: body)
        return payload
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
