import ArgumentParser
import FlashSale
import Foundation

struct Blocks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the clients blocked for repeated rate-limit refusals; lift a block.",
        discussion: """
            A client address or shopper refused again and again (20 refusals within 10 s by \
            default; see RATE_LIMITS_FILE's "blocking") is refused on every limit of every \
            instance for a cool-down (60 s by default). Blocks live in Redis.
            """,
        subcommands: [List.self, Lift.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every block standing, with the seconds it has left (the default).")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingFailures {
                let configuration = try connection.configuration(requireSecret: false)
                let blocks = try await Stores.withRedis(configuration) { try await ClientBlocks(redis: $0).list() }
                guard !blocks.isEmpty else {
                    print("no client is blocked")
                    return
                }
                var table = TextTable("subject", "seconds left")
                for block in blocks { table.add([block.subject, String(format: "%.1f", block.secondsLeft)]) }
                print(table.rendered)
            }
        }
    }

    struct Lift: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a block now; every instance lets the client in again within 5 s.")

        @Argument(help: "The subject as `flashsale blocks` lists it: client_ip:<address> or shopper:<id>.")
        var subject: String

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard RedisRateLimiter.blockKeys(subject) != nil else {
                throw ValidationError(ClientBlocks.UnknownSubject(subject: subject).description)
            }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try connection.configuration(requireSecret: false)
                let subject = subject
                let lifted = try await Stores.withRedis(configuration) { try await ClientBlocks(redis: $0).lift(subject) }
                print(lifted ? "lifted the block of \(subject)" : "\(subject) was not blocked")
            }
        }
    }
}
