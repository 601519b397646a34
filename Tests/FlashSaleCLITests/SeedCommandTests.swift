import FlashSale
import FlashSaleTestSupport
import Foundation
import Testing

@Suite("flashsale seed")
struct SeedCommandTests {
    static let header = "sku,name,price_cents,stock,per_shopper_limit\n"
    static let inventory = header + "tee-m,\"Black tee, M\",1999,50,2\r\nmug, Mug, 900, 10, 1\n"

    static func seed(_ sale: String, file: String, startsAt: String = "now+1h", _ extra: String...) -> [String] {
        ["seed", "--sale", sale, "--name", "Spring sale", "--starts-at", startsAt, "--ends-at", "now+3h", "--file", file]
            + extra
    }

    @Test func loadsACSVIntoBothStoresAndASecondRunChangesNothing() async throws {
        try await OperatorStores.with { stores in
            let file = try TemporaryFile("inventory.csv", Self.inventory)
            defer { file.remove() }
            let arguments = [
                "seed", "--sale", "spring", "--name", "Spring sale", "--starts-at", "2030-03-01T09:00:00Z",
                "--ends-at", "2030-03-01T12:00:00+01:00", "--payment-window", "15m", "--file", file.path,
            ]
            let first = try await stores.flashsale(arguments)
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.output.contains("sale spring created: 2 SKUs added"), "\(first.output)")
            let rows = try await stores.inventory("spring")
            #expect(rows["tee-m"]?.0 == "Black tee, M")
            #expect(rows["tee-m"]?.1 == 1999)
            #expect(rows["tee-m"]?.2 == 50)
            #expect(rows["tee-m"]?.3 == 50)
            #expect(rows["mug"]?.4 == 1)
            #expect(try await stores.redisStock("spring", "tee-m") == 50)
            #expect(try await stores.redisStock("spring", "mug") == 10)
            let window = try await stores.postgres.query(
                "SELECT extract(epoch FROM payment_window)::bigint, extract(epoch FROM ends_at - starts_at)::bigint FROM sales",
                logger: TestDatabase.logger
            ).decode((Int64, Int64).self).collectAll()
            #expect(window.first?.0 == 900)
            #expect(window.first?.1 == 7200)

            let second = try await stores.flashsale(arguments)
            #expect(second.status == 0, "\(second.errors)")
            #expect(second.output.contains("sale spring unchanged"), "\(second.output)")
            let again = try await stores.inventory("spring")
            #expect(again.mapValues(\.5) == rows.mapValues(\.5), "versions must not move")
            #expect(try await stores.catalogVersion("spring") == 1)
            #expect(try await stores.redisStock("spring", "tee-m") == 50)
        }
    }

    @Test func readsJSONToo() async throws {
        try await OperatorStores.with { stores in
            let file = try TemporaryFile(
                "inventory.json",
                """
                [
                  {"sku": "cap", "name": "Cap \\"red\\"", "price_cents": 1500, "stock": 7, "per_shopper_limit": 1},
                  {"per_shopper_limit": 3, "stock": 0, "price_cents": 0, "name": "Free sticker", "sku": "sticker"}
                ]
                """)
            defer { file.remove() }
            let outcome = try await stores.flashsale(Self.seed("js", file: file.path))
            #expect(outcome.status == 0, "\(outcome.errors)")
            let rows = try await stores.inventory("js")
            #expect(rows["cap"]?.0 == "Cap \"red\"")
            #expect(rows["sticker"]?.2 == 0)
            #expect(try await stores.redisStock("js", "cap") == 7)
        }
    }

    /// Each bad input: exit 1, one line naming the line at fault, nothing in either store.
    @Test(arguments: [
        ("dup.csv", header + "a,A,1,1,1\nb,B,1,1,1\na,A again,1,1,1\n", "line 4: SKU a appears again (first on line 2)"),
        ("neg.csv", header + "a,A,1,1,1\nb,B,1,-5,1\n", "line 3: stock of b must be a whole number"),
        ("price.csv", header + "a,A,19.99,1,1\n", "line 2: price_cents of a must be a whole number of cents"),
        ("price2.csv", header + "a,A,-1,1,1\n", "line 2: price_cents of a"),
        ("zero-limit.csv", header + "a,A,1,1,0\n", "line 2: per_shopper_limit of a"),
        ("column.csv", "sku,name,price_cents,stock,per_shopper_limit,colour\na,A,1,1,1,red\n", "line 1: unknown column 'colour'"),
        ("missing.csv", "sku,name,price_cents,stock\na,A,1,1\n", "line 1: column 'per_shopper_limit' is missing"),
        ("fields.csv", header + "a,A,1,1\n", "line 2: 4 fields where the header has 5"),
        ("quote.csv", header + "a,\"A,1,1,1\nb,B,1,1,1\n", "line 2: a quoted field is never closed"),
        ("sku.csv", header + "bad sku!,A,1,1,1\n", "line 2: sku 'bad sku!' must be"),
        ("semicolons.csv", "sku;name;price_cents;stock;per_shopper_limit\na;A;1;1;1\n", "(separate fields with commas)"),
        ("empty.csv", "", "the file is empty"),
        ("header-only.csv", header, "no inventory rows"),
        (
            "bad.json",
            #"[{"sku":"a","name":"A","price_cents":1,"stock":1,"per_shopper_limit":1},"# + "\n"
                + #" {"sku":"b","name":"B","price_cents":2.5,"stock":1,"per_shopper_limit":1}]"#,
            "line 2: price_cents of b"
        ),
        (
            "keys.json", #"[{"sku":"a","name":"A","price_cents":1,"stock":1,"per_shopper_limit":1,"x":1}]"#,
            "line 1: unknown column 'x'"
        ),
        ("open.json", #"[{"sku":"a","name":"A","price_cents":1,"stock":1,"per_shopper_limit":1}"#, "not closed"),
    ])
    func badInputIsOneErrorNamingTheLineAndWritesNothing(_ name: String, _ contents: String, _ message: String)
        async throws
    {
        try await OperatorStores.with { stores in
            let file = try TemporaryFile(name, contents)
            defer { file.remove() }
            let outcome = try await stores.flashsale(Self.seed("bad", file: file.path))
            #expect(outcome.status == 1)
            #expect(outcome.errors.contains(message), "\(outcome.errors)")
            #expect(outcome.errors.split(separator: "\n").count == 1, "\(outcome.errors)")
            #expect(try await stores.count("sales") == 0)
            #expect(try await stores.count("inventory") == 0)
            #expect(try await stores.redisKeyCount() == 0)
        }
    }

    @Test func aBadRowAfterThousandsOfGoodOnesStillWritesNothing() async throws {
        try await OperatorStores.with { stores in
            var contents = Self.header
            for index in 1...5_000 { contents += "sku-\(index),Item \(index),100,5,1\n" }
            contents += "sku-5001,Item,100,lots,1\n"
            let file = try TemporaryFile("long.csv", contents)
            defer { file.remove() }
            let outcome = try await stores.flashsale(Self.seed("long", file: file.path))
            #expect(outcome.status == 1)
            #expect(outcome.errors.contains("line 5002: stock of sku-5001"), "\(outcome.errors)")
            #expect(try await stores.count("inventory") == 0)
            #expect(try await stores.redisKeyCount() == 0)
        }
    }

    @Test func badSaleDefinitionsAreRefusedBeforeAnythingIsRead() async throws {
        try await OperatorStores.with { stores in
            let endsFirst = try await stores.flashsale([
                "seed", "--sale", "x", "--name", "X", "--starts-at", "now+2h", "--ends-at", "now+1h", "--generate", "3",
            ])
            #expect(endsFirst.status == 1)
            #expect(endsFirst.errors.contains("ends") && endsFirst.errors.contains("before it starts"), "\(endsFirst.errors)")
            let badTime = try await stores.flashsale([
                "seed", "--sale", "x", "--name", "X", "--starts-at", "tomorrow", "--ends-at", "now+1h", "--generate", "3",
            ])
            #expect(badTime.status != 0)
            #expect(badTime.errors.contains("--starts-at 'tomorrow'"), "\(badTime.errors)")
            let both = try await stores.flashsale([
                "seed", "--sale", "x", "--name", "X", "--starts-at", "now", "--ends-at", "now+1h", "--generate", "3",
                "--file", "a.csv",
            ])
            #expect(both.status != 0)
            #expect(both.errors.contains("exactly one of --file and --generate"), "\(both.errors)")
            let missing = try await stores.flashsale([
                "seed", "--sale", "x", "--name", "X", "--starts-at", "now",
                "--ends-at", "now+1h", "--file", "/nonexistent/inventory.csv",
            ])
            #expect(missing.status == 1)
            #expect(missing.errors.contains("no such file: /nonexistent/inventory.csv"), "\(missing.errors)")
            #expect(try await stores.count("sales") == 0)
        }
    }

    @Test func changingTheStockOfAStartedSaleNeedsForceAndKeepsBothStoresInStep() async throws {
        try await OperatorStores.with { stores in
            let original = try TemporaryFile("v1.csv", Self.header + "a,A,100,10,5\nb,B,100,10,5\n")
            let raised = try TemporaryFile("v2.csv", Self.header + "a,A,100,20,5\nb,B,100,10,5\n")
            let lowered = try TemporaryFile("v3.csv", Self.header + "a,A,100,5,5\nb,B,100,10,5\n")
            let tooLow = try TemporaryFile("v4.csv", Self.header + "a,A,100,2,5\nb,B,100,10,5\n")
            let fewer = try TemporaryFile("v5.csv", Self.header + "a,A,100,5,5\n")
            defer { [original, raised, lowered, tooLow, fewer].forEach { $0.remove() } }
            let started = "2020-01-01T00:00:00Z"
            #expect(try await stores.flashsale(Self.seed("live", file: original.path, startsAt: started)).status == 0)
            // Three units of a are sold: both stores show it.
            try await stores.postgres.query(
                "UPDATE inventory SET available = available - 3, version = version + 1 WHERE sku = 'a'",
                logger: TestDatabase.logger)
            _ = try await stores.redis.send("DECRBY", .string(RedisKeys(saleID: "live").stock("a")), 3)

            let refused = try await stores.flashsale(Self.seed("live", file: raised.path, startsAt: started))
            #expect(refused.status == 1)
            #expect(refused.errors.contains("line 2: sale live has started"), "\(refused.errors)")
            #expect(refused.errors.contains("--force"))
            #expect(try await stores.inventory("live")["a"]?.2 == 10)
            #expect(try await stores.redisStock("live", "a") == 7)

            let forced = try await stores.flashsale(Self.seed("live", file: raised.path, startsAt: started, "--force"))
            #expect(forced.status == 0, "\(forced.errors)")
            #expect(try await stores.inventory("live")["a"]?.2 == 20)
            #expect(try await stores.inventory("live")["a"]?.3 == 17)
            #expect(try await stores.redisStock("live", "a") == 17)

            let down = try await stores.flashsale(Self.seed("live", file: lowered.path, startsAt: started, "--force"))
            #expect(down.status == 0, "\(down.errors)")
            #expect(try await stores.inventory("live")["a"]?.3 == 2)
            #expect(try await stores.redisStock("live", "a") == 2)

            let belowSold = try await stores.flashsale(Self.seed("live", file: tooLow.path, startsAt: started, "--force"))
            #expect(belowSold.status == 1)
            #expect(
                belowSold.errors.contains("line 2: cannot lower the stock of a from 5 to 2: 3 units are sold"),
                "\(belowSold.errors)")
            #expect(try await stores.redisStock("live", "a") == 2)

            let removing = try await stores.flashsale(Self.seed("live", file: fewer.path, startsAt: started, "--force"))
            #expect(removing.status == 1)
            #expect(removing.errors.contains("SKUs cannot be removed"), "\(removing.errors)")
            #expect(try await stores.inventory("live").count == 2)
        }
    }

    @Test func beforeItStartsASaleIsReplacedByTheNewInput() async throws {
        try await OperatorStores.with { stores in
            let first = try TemporaryFile("v1.csv", Self.inventory)
            let second = try TemporaryFile("v2.csv", Self.header + "mug,Big mug,950,12,1\nhat,Hat,500,3,1\n")
            let repeated = try TemporaryFile("v3.csv", Self.header + "mug,Mug,900,10,1\nmug,Mug,900,10,1\n")
            defer { [first, second, repeated].forEach { $0.remove() } }
            #expect(try await stores.flashsale(Self.seed("soon", file: first.path)).status == 0)
            let replaced = try await stores.flashsale(Self.seed("soon", file: second.path))
            #expect(replaced.status == 0, "\(replaced.errors)")
            #expect(replaced.output.contains("1 SKUs added, 1 changed, 1 removed"), "\(replaced.output)")
            // The service's catalog keeps items per version: a seed that changes them must move it.
            #expect(try await stores.catalogVersion("soon") == 2)
            let rows = try await stores.inventory("soon")
            #expect(Set(rows.keys) == ["mug", "hat"])
            #expect(rows["mug"]?.0 == "Big mug")
            #expect(rows["mug"]?.3 == 12)
            #expect(try await stores.redisStock("soon", "mug") == 12)
            #expect(try await stores.redisStock("soon", "hat") == 3)
            #expect(try await stores.redisStock("soon", "tee-m") == nil)

            let duplicate = try await stores.flashsale(Self.seed("soon", file: repeated.path))
            #expect(duplicate.status == 1)
            #expect(duplicate.errors.contains("line 3: SKU mug appears again (first on line 2)"), "\(duplicate.errors)")
            #expect(try await stores.inventory("soon")["mug"]?.0 == "Big mug")
            #expect(try await stores.catalogVersion("soon") == 2)
        }
    }

    @Test func generatesDemoSKUsWithProgressForLargeCounts() async throws {
        try await OperatorStores.with { stores in
            let outcome = try await stores.flashsale([
                "seed", "--sale", "big", "--name", "Big", "--starts-at", "now+1h", "--ends-at", "now+2h",
                "--generate", "100000",
            ])
            #expect(outcome.status == 0, "\(outcome.errors)")
            #expect(outcome.output.contains("100000 SKUs, 10000000 units"), "\(outcome.output)")
            // Not a terminal here: plain progress lines, no carriage returns.
            #expect(outcome.errors.contains("seed big: priming Redis stock 100%"), "\(outcome.errors)")
            #expect(!outcome.errors.contains("\r"))
            #expect(try await stores.count("inventory") == 100_000)
            #expect(try await stores.redisStock("big", "sku-000001") == 100)
            #expect(try await stores.redisStock("big", "sku-100000") == 100)
            // Every stock key, and the marker that the sale is primed.
            #expect(try await stores.redisKeyCount() == 100_001)
            #expect(try await stores.redis.send("EXISTS", .string(RedisKeys(saleID: "big").primed)).integer == 1)
        }
    }
}
