import Foundation

/// Every e-mail setting, read from environment-like text and validated at start.
///
/// It takes a `[String: String]` rather than reading the process environment, so the command
/// line can merge its flags over the environment and both go through one validation.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `EMAIL_PROVIDER_URL` | the provider's http(s) endpoint; unset: write `.eml` files instead | unset |
/// | `EMAIL_SIGNING_SECRET` | HMAC key shared with the provider, at least 32 bytes; required with a URL | unset |
/// | `EMAIL_OUTBOX_DIR` | the outbox folder, relative to the current directory unless absolute | `.local/outbox` |
/// | `EMAIL_RATE_PER_SECOND` | e-mails per second, all workers together | 50 |
/// | `EMAIL_BURST` | e-mails at most at once | 50 |
/// | `EMAIL_QUOTA_PER_MINUTE` / `_PER_HOUR` / `_PER_DAY` | the provider's stated quota; 90% of it is used | unset |
/// | `EMAIL_FROM` | the From address, `addr` or `Name <addr>` | `FlashSale <no-reply@flashsale.local>` |
public struct EmailSettings: Sendable, Equatable {
    /// Where e-mails go.
    public enum Delivery: Sendable, Equatable {
        /// POST to a provider (``HTTPEmailSender``).
        case provider(url: String, signingSecret: String)
        /// `.eml` files in a folder (``OutboxEmailSender``).
        case outbox(directory: URL)
    }

    public var delivery: Delivery
    public var from: String
    public var rateLimits: EmailRateLimiter.Limits

    public static let defaultOutboxDirectory = ".local/outbox"

    /// - Parameters:
    ///   - environment: the variables above (others are ignored).
    ///   - currentDirectory: what a relative `EMAIL_OUTBOX_DIR` is relative to.
    public init(
        environment: [String: String], currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws(EmailSettingsError) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }

        if let url = value("EMAIL_PROVIDER_URL") {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = parsed.host, !host.isEmpty
            else {
                throw EmailSettingsError(
                    "EMAIL_PROVIDER_URL", "\(Self.quoted(url)) is not an http:// or https:// URL with a host")
            }
            guard let secret = environment["EMAIL_SIGNING_SECRET"], !secret.isEmpty else {
                throw EmailSettingsError("EMAIL_SIGNING_SECRET", "is not set (required with EMAIL_PROVIDER_URL)")
            }
            guard secret.utf8.count >= 32 else {
                throw EmailSettingsError("EMAIL_SIGNING_SECRET", "must be at least 32 bytes long (HMAC-SHA256 keys are 256 bits)")
            }
            delivery = .provider(url: url, signingSecret: secret)
        } else {
            let path = value("EMAIL_OUTBOX_DIR") ?? Self.defaultOutboxDirectory
            let base = URL(fileURLWithPath: currentDirectory, isDirectory: true)
            let directory =
                path.hasPrefix("/")
                ? URL(fileURLWithPath: path, isDirectory: true)
                : URL(fileURLWithPath: path, isDirectory: true, relativeTo: base).absoluteURL
            delivery = .outbox(directory: directory.standardizedFileURL)
        }

        from = value("EMAIL_FROM") ?? OutboxEmailSender.defaultFrom
        guard !from.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }),
            let domain = OutboxEmailSender.domain(of: from), !domain.contains(" ")
        else {
            throw EmailSettingsError(
                "EMAIL_FROM", "\(Self.quoted(from)) is not an address like name@example.com or Name <name@example.com>")
        }

        let perSecond = try Self.integer(
            value("EMAIL_RATE_PER_SECOND"), name: "EMAIL_RATE_PER_SECOND", default: 50, range: 1...100_000)
        let burst = try Self.integer(value("EMAIL_BURST"), name: "EMAIL_BURST", default: 50, range: 1...100_000)
        var quotas: [EmailRateLimiter.Quota] = []
        for (name, period) in [
            ("EMAIL_QUOTA_PER_MINUTE", EmailRateLimiter.Quota.Period.minute), ("EMAIL_QUOTA_PER_HOUR", .hour),
            ("EMAIL_QUOTA_PER_DAY", .day),
        ] {
            guard let text = value(name) else { continue }
            let quota = try Self.integer(text, name: name, default: 0, range: 2...1_000_000_000)
            quotas.append(EmailRateLimiter.Quota(quota, per: period))
        }
        rateLimits = EmailRateLimiter.Limits(perSecond: perSecond, burst: burst, quotas: quotas)
    }

    /// A value as it may appear in the one-line error: quoted, control characters escaped.
    static func quoted(_ value: String) -> String {
        var text = "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\r": text += "\\r"
            case "\n": text += "\\n"
            case "\t": text += "\\t"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "'"
    }

    private static func integer(
        _ text: String?, name: String, default value: Int, range: ClosedRange<Int>
    ) throws(EmailSettingsError) -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw EmailSettingsError(
                name, "\(Self.quoted(text)) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}
