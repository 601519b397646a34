import ArgumentParser
import FlashSale
import FlashSaleHTTP
import Foundation

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a shopper token (HS256 JWT) for trying the API by hand.",
        discussion: """
            Signed with JWT_SECRET (or --jwt-secret), the same secret `serve` verifies with, and
            carrying JWT_ISSUER / JWT_AUDIENCE when they are set. --ttl may not exceed
            JWT_MAX_LIFETIME_SECONDS (default one day).
            Example: curl -H "Authorization: Bearer $(flashsale token --shopper alice)" …
            Repeat --shopper for one token per line in the same order (benchmarks need
            a thousand shoppers; one process per token would take half a minute).
            """)

    @Option(help: "The shopper id (the token's `sub`); repeatable.")
    var shopper: [String]

    @Option(
        help:
            "The shopper's e-mail address (the token's `email` claim): their order e-mails go there. With several --shopper, one per shopper in the same order, or one for all."
    )
    var email: [String] = []

    @Option(help: "How long the token is valid: 90s, 30m, 1h, 2d, or plain seconds.")
    var ttl = "1h"

    @Option(name: .customLong("jwt-secret"), help: "HS256 secret, at least 32 bytes (env JWT_SECRET).")
    var jwtSecret: String?

    func validate() throws {
        guard !shopper.isEmpty else { throw ValidationError("--shopper is required") }
        guard !shopper.contains(where: \.isEmpty) else { throw ValidationError("--shopper must not be empty") }
        guard email.count <= 1 || email.count == shopper.count else {
            throw ValidationError("give one --email for all shoppers, or one per --shopper (\(shopper.count))")
        }
        guard TimeSpan.seconds(ttl) != nil else {
            throw ValidationError("--ttl '\(ttl)' is not a duration such as 90s, 30m, 1h or 2d")
        }
    }

    func run() async throws {
        try await reportingFailures {
            var flags = FlashSaleConfiguration.Settings()
            flags.jwtSecret = jwtSecret
            let configuration = try FlashSaleConfiguration(
                FlashSaleConfiguration.Settings(environment: ProcessInfo.processInfo.environment).overridden(by: flags))
            let lifetime = TimeSpan.seconds(ttl) ?? 3600
            guard lifetime <= Int64(configuration.jwtMaxLifetimeSeconds) else {
                throw CommandFailure(
                    "--ttl \(ttl) is longer than the \(configuration.jwtMaxLifetimeSeconds) s the service accepts (JWT_MAX_LIFETIME_SECONDS)",
                    exitCode: 2)
            }
            // The service's issuer and audience, so the token is one `serve` accepts.
            let tokens = await ShopperTokens(secret: configuration.jwtSecret, policy: TokenPolicy(configuration))
            for (index, shopperID) in shopper.enumerated() {
                let address = email.count == shopper.count ? email[index] : email.first
                print(
                    try await tokens.issue(
                        shopperID: shopperID, email: address, lifetime: .seconds(lifetime)))
            }
        }
    }
}
