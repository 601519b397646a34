import FlashSale
import Testing

@Suite("Configuration is validated at start")
struct ConfigurationTests {
    @Test func defaultsNeedOnlyASecret() throws {
        var settings = FlashSaleConfiguration.Settings()
        settings.jwtSecret = "0123456789abcdef0123456789abcdef"
        let configuration = try FlashSaleConfiguration(settings)
        #expect(configuration.httpPort == 8080)
        #expect(configuration.databaseMaxConnections == 20)
        #expect(configuration.database.port == 55432)
        #expect(configuration.redis.port == 56379)
    }

    @Test func flagsOverrideTheEnvironment() throws {
        let environment = FlashSaleConfiguration.Settings(environment: [
            "HTTP_PORT": "9000", "JWT_SECRET": "from-the-environment-0123456789abcdef", "DB_MAX_CONNECTIONS": "5",
        ])
        var flags = FlashSaleConfiguration.Settings()
        flags.httpPort = "9100"
        let configuration = try FlashSaleConfiguration(environment.overridden(by: flags))
        #expect(configuration.httpPort == 9100)
        #expect(configuration.databaseMaxConnections == 5)
        #expect(configuration.jwtSecret == "from-the-environment-0123456789abcdef")
    }

    @Test(arguments: [
        ("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("DB_MAX_CONNECTIONS", "0"),
        ("DATABASE_URL", "mysql://x@y/z"), ("DATABASE_URL", "postgres://host/db"),
        ("DATABASE_URL", "postgres://u@host/"), ("REDIS_URL", "redis://h:0"), ("JWT_SECRET", "short"),
    ])
    func badValuesNameTheSetting(_ name: String, _ value: String) {
        var environment = ["JWT_SECRET": "0123456789abcdef0123456789abcdef"]
        environment[name] = value
        let error = #expect(throws: ConfigurationError.self) {
            try FlashSaleConfiguration(.init(environment: environment))
        }
        #expect(error?.setting == name)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func missingSecretIsRefusedOnlyWhereNeeded() throws {
        #expect(throws: ConfigurationError("JWT_SECRET", "is not set")) {
            try FlashSaleConfiguration(.init(environment: [:]))
        }
        _ = try FlashSaleConfiguration(.init(environment: [:]), requireSecret: false)
    }

    @Test func databaseURL() throws {
        let url = try DatabaseURL("postgresql://app:p%40ss@db.internal:6543/orders?sslmode=require")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.username == "app")
        #expect(url.password == "p@ss")
        #expect(url.database == "orders")
        #expect(url.requireTLS)
    }
}
