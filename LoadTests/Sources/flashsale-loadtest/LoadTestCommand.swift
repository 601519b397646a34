import ArgumentParser

struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsale-loadtest",
        abstract: "Rehearse sale day: replay a scenario against FlashSale, draw it, and audit what was sold.",
        discussion: """
            `run` seeds the scenario's sale (a new one each run), sends its shoppers and bots open
            loop (each request leaves on its schedule; latency counts from that schedule), then
            audits PostgreSQL and Redis and writes report.json and report.html. Exit status 1 when
            the audit fails.
            The stores and the JWT secret come from DATABASE_URL, REDIS_URL and JWT_SECRET (or
            the flags), as for `flashsale serve`.
            Scenarios: LoadTests/Scenarios/*.json, documented in LoadTests/README.md.
            """,
        subcommands: [Run.self, Calibrate.self, Audit.self, Merge.self],
        defaultSubcommand: Run.self)
}

extension LoadTestCommand {
    /// In an async function `main()` is the async overload; top-level code would pick the sync one.
    static func start() async { await main() }
}
