import Crypto
import Foundation

/// "Delivers" e-mails as `.eml` files in a local folder: what runs when no provider is configured,
/// so `make run` shows every message the shop would send, readable by any mail client.
///
/// One file per idempotency key, replaced atomically (written to a temporary file in the same
/// folder, flushed to disk, then renamed over the final name): a job that runs twice leaves one
/// file, and a crash never leaves a half-written one.
///
/// File I/O blocks its thread briefly. That is acceptable here: the sender runs in the worker,
/// never on an HTTP server's event loop, and one small file per e-mail is cheap.
public struct OutboxEmailSender: EmailSender {
    public static let defaultFrom = "FlashSale <no-reply@flashsale.local>"

    public let directory: URL
    public let from: String
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - directory: the outbox folder (`EMAIL_OUTBOX_DIR`); created on first use if missing.
    ///   - from: the From header (`EMAIL_FROM`), `addr` or `Name <addr>`.
    ///   - now: the clock for the Date header; tests may pin it.
    public init(directory: URL, from: String = defaultFrom, now: @escaping @Sendable () -> Date = { Date() }) {
        self.directory = directory
        self.from = from
        self.now = now
    }

    public func send(_ message: EmailMessage) async throws {
        let file = fileURL(for: message.idempotencyKey)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Self.writeAtomically(Array(render(message).utf8), to: file)
        } catch {
            // A full disk or a missing permission may be fixed by an operator: worth a retry.
            throw EmailDeliveryError.retryable("cannot write \(file.path): \(error)", retryAfter: nil)
        }
    }

    /// Where the message with this key is written: the key with everything but letters, digits,
    /// '-', '_' and '.' replaced, plus a hash of the key when that changed anything (so two keys
    /// that sanitize alike still get two files).
    public func fileURL(for idempotencyKey: String) -> URL {
        directory.appendingPathComponent(Self.fileName(for: idempotencyKey), isDirectory: false)
    }

    static func fileName(for key: String) -> String {
        var safe = String(
            key.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": Character(scalar)
                default: "_"
                }
            })
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }  // no hidden files, no ".."
        if safe.count > 100 { safe = String(safe.prefix(100)) }
        if safe != key || key.isEmpty { safe += "-" + String(digest(key).prefix(16)) }
        return safe + ".eml"
    }

    /// The message as RFC 5322 text with CRLF line ends.
    public func render(_ message: EmailMessage) -> String {
        let (encoding, body) = MIMEText.body(message.text)
        let headers = [
            "From: " + MIMEText.address(from, nameLength: 6),
            "To: " + MIMEText.address(message.to, nameLength: 4),
            "Subject: " + MIMEText.unstructured(message.subject, nameLength: 9),
            "Date: " + Self.rfc5322Date(now()),
            "Message-ID: " + messageID(for: message.idempotencyKey),
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: " + encoding.rawValue,
            "X-FlashSale-Order: " + MIMEText.singleLine(message.orderID),
            "X-FlashSale-Event: " + MIMEText.singleLine(message.event),
        ]
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    /// The same key always yields the same Message-ID, so a mail client shows a re-sent e-mail as
    /// one message. Its left part is the file name's stem (the key, sanitized and made unique),
    /// hashed instead when that would not be a valid dot-atom.
    func messageID(for key: String) -> String {
        let domain = Self.domain(of: from) ?? "flashsale.local"
        let stem = String(Self.fileName(for: key).dropLast(4))
        let dotAtom = !stem.hasSuffix(".") && !stem.contains("..")
        return "<\(dotAtom ? stem : Self.digest(key))@\(domain)>"
    }

    static func domain(of address: String) -> String? {
        var spec = Substring(address)
        if let open = spec.lastIndex(of: "<"), let close = spec.lastIndex(of: ">"), open < close {
            spec = spec[spec.index(after: open)..<close]
        }
        guard let at = spec.lastIndex(of: "@") else { return nil }
        let domain = spec[spec.index(after: at)...]
        return domain.isEmpty ? nil : String(domain)
    }

    static func digest(_ text: String) -> String {
        EmailSignature.hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 01 Dec 2026 09:00:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// Writes a temporary file beside `file`, flushes it, renames it over `file` (atomic on POSIX),
    /// then flushes the folder so the rename itself survives a crash.
    static func writeAtomically(_ bytes: [UInt8], to file: URL) throws {
        let folder = file.deletingLastPathComponent().path
        let temporary = folder + "/." + file.lastPathComponent + ".tmp-" + UUID().uuidString
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXFailure(operation: "open", path: temporary, code: errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw POSIXFailure(operation: "write", path: temporary, code: code)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            unlink(temporary)
            throw POSIXFailure(operation: "fsync", path: temporary, code: code)
        }
        close(descriptor)
        guard rename(temporary, file.path) == 0 else {
            let code = errno
            unlink(temporary)
            throw POSIXFailure(operation: "rename", path: file.path, code: code)
        }
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}
