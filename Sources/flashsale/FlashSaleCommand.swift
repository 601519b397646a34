import ArgumentParser

@main
struct FlashSaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsale",
        abstract: "FlashSale: a flash-sale order service that sells every unit exactly once.",
        discussion: """
            Settings come from environment variables; each has a flag that overrides it.
            Run `flashsale help <command>` for a command's flags.
            """,
        subcommands: [
            Serve.self, WorkerCommand.self, Migrate.self, Seed.self, Reconcile.self, Sales.self, Jobs.self, Blocks.self,
            Token.self,
        ]
    )
}
