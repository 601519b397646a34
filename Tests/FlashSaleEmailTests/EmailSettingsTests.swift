import FlashSaleEmail
import Foundation
import Testing

@Suite struct EmailSettingsTests {
    let secret = String(repeating: "s", count: 32)

    @Test func defaultsWriteToTheLocalOutboxAtFiftyPerSecond() throws {
        let settings = try EmailSettings(environment: [:], currentDirectory: "/srv/flashsale")
        #expect(settings.delivery == .outbox(directory: URL(fileURLWithPath: "/srv/flashsale/.local/outbox", isDirectory: true)))
        #expect(settings.from == "FlashSale <no-reply@flashsale.local>")
        #expect(settings.rateLimits == EmailRateLimiter.Limits(perSecond: 50, burst: 50, quotas: []))
    }

    @Test func everySettingIsRead() throws {
        let settings = try EmailSettings(environment: [
            "EMAIL_PROVIDER_URL": "https://mail.example.com/v1/send", "EMAIL_SIGNING_SECRET": secret,
            "EMAIL_RATE_PER_SECOND": "20", "EMAIL_BURST": "5", "EMAIL_QUOTA_PER_MINUTE": "600",
            "EMAIL_QUOTA_PER_HOUR": "20000", "EMAIL_QUOTA_PER_DAY": "100000", "EMAIL_FROM": "Shop <shop@example.com>",
            "UNRELATED": "x",
        ])
        #expect(settings.delivery == .provider(url: "https://mail.example.com/v1/send", signingSecret: secret))
        #expect(settings.from == "Shop <shop@example.com>")
        #expect(settings.rateLimits.perSecond == 20 && settings.rateLimits.burst == 5)
        #expect(settings.rateLimits.quotas.map(\.limit) == [540, 18_000, 90_000])
        let outbox = try EmailSettings(environment: ["EMAIL_OUTBOX_DIR": "/var/mail/outbox"])
        #expect(outbox.delivery == .outbox(directory: URL(fileURLWithPath: "/var/mail/outbox", isDirectory: true)))
        let relative = try EmailSettings(environment: ["EMAIL_OUTBOX_DIR": "out/../mail"], currentDirectory: "/srv")
        #expect(relative.delivery == .outbox(directory: URL(fileURLWithPath: "/srv/mail", isDirectory: true)))
    }

    @Test(arguments: [
        (["EMAIL_PROVIDER_URL": "ftp://mail.example.com"], "EMAIL_PROVIDER_URL"),
        (["EMAIL_PROVIDER_URL": "not a url"], "EMAIL_PROVIDER_URL"),
        (["EMAIL_PROVIDER_URL": "https://mail.example.com"], "EMAIL_SIGNING_SECRET"),
        (["EMAIL_PROVIDER_URL": "https://mail.example.com", "EMAIL_SIGNING_SECRET": "short"], "EMAIL_SIGNING_SECRET"),
        (["EMAIL_RATE_PER_SECOND": "0"], "EMAIL_RATE_PER_SECOND"),
        (["EMAIL_RATE_PER_SECOND": "fast"], "EMAIL_RATE_PER_SECOND"),
        (["EMAIL_BURST": "-1"], "EMAIL_BURST"),
        (["EMAIL_QUOTA_PER_MINUTE": "1"], "EMAIL_QUOTA_PER_MINUTE"),
        (["EMAIL_QUOTA_PER_HOUR": "1.5"], "EMAIL_QUOTA_PER_HOUR"),
        (["EMAIL_QUOTA_PER_DAY": "lots"], "EMAIL_QUOTA_PER_DAY"),
        (["EMAIL_FROM": "nobody"], "EMAIL_FROM"),
        (["EMAIL_FROM": "a@b.c\r\nBcc: x@y.z"], "EMAIL_FROM"),
    ])
    func badValuesNameTheirVariableInOneLine(environment: [String: String], variable: String) {
        do {
            _ = try EmailSettings(environment: environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.variable == variable)
            #expect(error.description.hasPrefix("configuration error: \(variable): "))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func flagsMergedOverTheEnvironmentWin() throws {
        let environment = ["EMAIL_RATE_PER_SECOND": "10", "EMAIL_BURST": "10"]
        let flags = ["EMAIL_RATE_PER_SECOND": "30"]
        let settings = try EmailSettings(environment: environment.merging(flags) { _, flag in flag })
        #expect(settings.rateLimits.perSecond == 30 && settings.rateLimits.burst == 10)
    }
}
