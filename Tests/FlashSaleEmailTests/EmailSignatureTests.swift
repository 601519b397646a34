import Crypto
import FlashSaleEmail
import Foundation
import Testing

@Suite struct EmailSignatureTests {
    let signature = EmailSignature(secret: "a-test-secret-that-is-32-bytes-long!")
    let body = Array(#"{"order_id":"o-1","to":"alice@example.com"}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func headerIsTimestampAndHexHMACOfTimestampDotBody() throws {
        let header = signature.sign(body: body, timestamp: 1_790_000_000)
        // Computed independently, as a provider in another language would.
        let key = SymmetricKey(data: Array("a-test-secret-that-is-32-bytes-long!".utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("1790000000.".utf8) + body, using: key)
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        #expect(header == "t=1790000000,v1=\(hex)")
        try signature.verify(header: header, body: body, now: now)
    }

    @Test func aTamperedBodyIsRejected() {
        let header = signature.sign(body: body, timestamp: 1_790_000_000)
        var tampered = body
        tampered[tampered.count - 3] ^= 0x01
        #expect(throws: EmailSignature.VerificationFailure.signatureMismatch) {
            try signature.verify(header: header, body: tampered, now: now)
        }
    }

    @Test func aStaleOrFutureTimestampIsRejected() {
        let header = signature.sign(body: body, timestamp: 1_790_000_000)
        #expect(throws: EmailSignature.VerificationFailure.timestampOutsideTolerance) {
            try signature.verify(header: header, body: body, now: now.addingTimeInterval(301))
        }
        #expect(throws: EmailSignature.VerificationFailure.timestampOutsideTolerance) {
            try signature.verify(header: header, body: body, now: now.addingTimeInterval(-61), tolerance: .seconds(60))
        }
        // Within the tolerance it passes.
        #expect(throws: Never.self) { try signature.verify(header: header, body: body, now: now.addingTimeInterval(299)) }
    }

    @Test func anotherSecretOrAReplacedTimestampIsRejected() {
        let header = signature.sign(body: body, timestamp: 1_790_000_000)
        let other = EmailSignature(secret: "another-secret-that-is-32-bytes-long")
        #expect(throws: EmailSignature.VerificationFailure.signatureMismatch) {
            try other.verify(header: header, body: body, now: now)
        }
        // A replay with a fresh timestamp but the old signature: the timestamp is signed too.
        let replayed = header.replacingOccurrences(of: "t=1790000000", with: "t=1790000100")
        #expect(throws: EmailSignature.VerificationFailure.signatureMismatch) {
            try signature.verify(header: replayed, body: body, now: now.addingTimeInterval(100))
        }
    }

    @Test func malformedHeadersAreRejectedAndRotatedKeysAccepted() throws {
        for header in ["", "t=1790000000", "v1=abcd", "t=abc,v1=00", "t=1790000000,v1=xyz"] {
            #expect(throws: EmailSignature.VerificationFailure.malformedHeader) {
                try signature.verify(header: header, body: body, now: now)
            }
        }
        // During a key rotation the sender may send two v1 signatures; one matching is enough.
        let old = EmailSignature(secret: "an-older-secret-that-is-32-bytes-long")
        let oldV1 = old.sign(body: body, timestamp: 1_790_000_000).split(separator: ",")[1]
        let header = signature.sign(body: body, timestamp: 1_790_000_000) + "," + oldV1
        try old.verify(header: header, body: body, now: now)
        try signature.verify(header: header, body: body, now: now)
    }
}
