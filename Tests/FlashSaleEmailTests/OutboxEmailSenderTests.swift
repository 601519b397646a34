import FlashSaleEmail
import Foundation
import Testing

@Suite struct OutboxEmailSenderTests {
    /// A fresh folder that does not exist yet (the sender must create it), removed afterwards.
    func withOutbox(_ body: (URL) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("fs-outbox-\(UUID().uuidString)", isDirectory: true)
            .appendingPathComponent("nested", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try await body(folder)
    }

    /// An `.eml` file split the way a mail client reads it: header fields (unfolded) and body.
    struct ParsedMail {
        var headers: [String: String] = [:]
        var body = ""

        init(_ bytes: [UInt8]) throws {
            let text = String(decoding: bytes, as: UTF8.self)
            let parts = text.components(separatedBy: "\r\n\r\n")
            try #require(parts.count >= 2)
            let unfolded = parts[0].replacingOccurrences(of: "\r\n ", with: " ")
            for line in unfolded.components(separatedBy: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                try #require(pair.count == 2, "not a header line: \(line)")
                headers[String(pair[0])] = pair[1].trimmingCharacters(in: .whitespaces)
            }
            body = parts.dropFirst().joined(separator: "\r\n\r\n")
        }
    }

    /// Every LF is preceded by CR, and every CR followed by LF.
    func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { return false }
            if byte == 0x0D && (index + 1 == bytes.count || bytes[index + 1] != 0x0A) { return false }
        }
        return true
    }

    /// Decodes RFC 2047 `=?UTF-8?B?…?=` words separated by folding whitespace.
    func decodeEncodedWords(_ value: String) throws -> String {
        var bytes: [UInt8] = []
        for word in value.split(separator: " ") {
            try #require(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="), "not an encoded-word: \(word)")
            let payload = word.dropFirst(10).dropLast(2)
            try #require(word.count <= 75)
            bytes += try #require(Data(base64Encoded: String(payload)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func writesAReadableRFC5322FileOncePerKey() async throws {
        try await withOutbox { folder in
            let sender = OutboxEmailSender(directory: folder)
            let message = EmailMessage(
                idempotencyKey: "order-7:order_reserved", orderID: "order-7", event: "order_reserved",
                to: "bob@example.com", subject: "Reserved: 1 × Mug",
                text: "Your mug is reserved.\nPay by 2026-12-01 09:10 UTC.\n\nFlashSale")
            try await sender.send(message)
            try await sender.send(message)  // the job ran twice

            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(files.count == 1)
            #expect(files.allSatisfy { $0.wholeMatch(of: /order-7_order_reserved-[0-9a-f]{16}\.eml/) != nil })
            let file = sender.fileURL(for: message.idempotencyKey)
            let bytes = Array(try Data(contentsOf: file))
            #expect(hasOnlyCRLF(bytes))
            let mail = try ParsedMail(bytes)
            #expect(mail.headers["From"] == "FlashSale <no-reply@flashsale.local>")
            #expect(mail.headers["To"] == "bob@example.com")
            #expect(mail.headers["MIME-Version"] == "1.0")
            #expect(mail.headers["Content-Type"] == "text/plain; charset=utf-8")
            #expect(mail.headers["Content-Transfer-Encoding"] == "7bit")
            let messageID = try #require(mail.headers["Message-ID"])
            #expect(messageID.wholeMatch(of: /<order-7_order_reserved-[0-9a-f]{16}@flashsale\.local>/) != nil)
            let date = try #require(mail.headers["Date"])
            #expect(date.wholeMatch(of: /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000/) != nil)
            #expect(try decodeEncodedWords(try #require(mail.headers["Subject"])) == "Reserved: 1 × Mug")
            #expect(mail.body == "Your mug is reserved.\r\nPay by 2026-12-01 09:10 UTC.\r\n\r\nFlashSale\r\n")
        }
    }

    @Test func nonASCIIHeadersAreEncodedAndInjectionIsDefused() async throws {
        try await withOutbox { folder in
            let subject = String(repeating: "Ihre Bestellung ist bezahlt – vielen Dank für Ihren Einkauf! ", count: 2)
            let sender = OutboxEmailSender(directory: folder, from: "Läden GmbH <shop@example.de>")
            let message = EmailMessage(
                idempotencyKey: "../../etc/passwd", orderID: "o-1", event: "order_paid", to: "zoë@example.com",
                subject: subject, text: "ASCII only\r\nline two")
            try await sender.send(message)
            let file = sender.fileURL(for: message.idempotencyKey)
            #expect(file.deletingLastPathComponent().standardizedFileURL == folder.standardizedFileURL)
            #expect(!file.lastPathComponent.hasPrefix("."))
            let bytes = Array(try Data(contentsOf: file))
            #expect(bytes.split(separator: 0x0A).allSatisfy { $0.count <= 999 })
            let mail = try ParsedMail(bytes)
            #expect(try decodeEncodedWords(try #require(mail.headers["Subject"])) == subject)
            let from = try #require(mail.headers["From"])
            #expect(from.hasSuffix(" <shop@example.de>"))
            #expect(try decodeEncodedWords(String(from.dropLast(" <shop@example.de>".count))) == "Läden GmbH")
            #expect(mail.headers["Content-Transfer-Encoding"] == "7bit")
            #expect(mail.body == "ASCII only\r\nline two\r\n")
            let messageID = try #require(mail.headers["Message-ID"])
            #expect(messageID.wholeMatch(of: /<[0-9a-f]{64}@example\.de>/) != nil)  // "_._.._etc_passwd…" is no dot-atom

            let sneaky = EmailMessage(
                idempotencyKey: "k", orderID: "o-2", event: "order_paid", to: "eve@example.com",
                subject: "Hello\r\nBcc: everyone@example.com", text: "x")
            let rendered = sender.render(sneaky)
            #expect(!rendered.contains("\r\nBcc:"))
        }
    }

    @Test func aUTF8BodyIsEightBit() throws {
        let sender = OutboxEmailSender(directory: URL(fileURLWithPath: "/nonexistent"))
        let rendered = sender.render(
            EmailMessage(idempotencyKey: "k", orderID: "o", event: "e", to: "a@b.c", subject: "s", text: "Grüße\nÀ bientôt"))
        let mail = try ParsedMail(Array(rendered.utf8))
        #expect(mail.headers["Content-Transfer-Encoding"] == "8bit")
        #expect(mail.body == "Grüße\r\nÀ bientôt\r\n")
        #expect(mail.headers["Message-ID"] == "<k@flashsale.local>")
    }

    @Test func longLinesAreQuotedPrintable() throws {
        let sender = OutboxEmailSender(directory: URL(fileURLWithPath: "/nonexistent"))
        let line = String(repeating: "é=x ", count: 400)
        let rendered = sender.render(
            EmailMessage(idempotencyKey: "k", orderID: "o", event: "e", to: "a@b.c", subject: "s", text: line))
        let mail = try ParsedMail(Array(rendered.utf8))
        #expect(mail.headers["Content-Transfer-Encoding"] == "quoted-printable")
        #expect(mail.body.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        // Decode it back.
        var decoded: [UInt8] = []
        let encoded = Array(mail.body.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "\r\n", with: "").utf8)
        var index = 0
        while index < encoded.count {
            if encoded[index] == UInt8(ascii: "=") {
                decoded.append(try #require(UInt8(String(decoding: encoded[index + 1...index + 2], as: UTF8.self), radix: 16)))
                index += 3
            } else {
                decoded.append(encoded[index])
                index += 1
            }
        }
        #expect(String(decoding: decoded, as: UTF8.self) == line)
    }

    @Test func anUnwritableFolderIsRetryable() async throws {
        let sender = OutboxEmailSender(directory: URL(fileURLWithPath: "/proc/fs-outbox-cannot-exist"))
        await #expect {
            try await sender.send(
                EmailMessage(idempotencyKey: "k", orderID: "o", event: "e", to: "a@b.c", subject: "s", text: "t"))
        } throws: { error in
            if case EmailDeliveryError.retryable = error { return true }
            return false
        }
    }
}
