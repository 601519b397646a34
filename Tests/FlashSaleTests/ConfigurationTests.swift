import FlashSale
import PostgresNIO
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
        ("JWT_ISSUER", ""), ("JWT_AUDIENCE", " "), ("JWT_MAX_LIFETIME_SECONDS", "0"),
        ("ORDER_WRITE_LOCK_TIMEOUT_MS", "10000"), ("ORDER_WRITE_STATEMENT_TIMEOUT_MS", "5s"),
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

    /// The long-running pools arm no timer per query: a cancelled one kept its memory for up to a
    /// minute (+85 MB of RSS over 100,000 sale reads). Commands open connections only as needed.
    @Test func longRunningPoolsArmNoTimerPerQuery() throws {
        let url = try DatabaseURL("postgres://app@db.internal/orders")
        let service = url.clientConfiguration(maxConnections: 12, alwaysOpen: true).options
        #expect(service.maximumConnections == 12)
        #expect(service.minimumConnections == 12)
        #expect(service.keepAliveBehavior == nil)
        let command = url.clientConfiguration(maxConnections: 4).options
        #expect(command.minimumConnections == 0)
        #expect(command.keepAliveBehavior != nil)
    }

    /// A bad URL is quoted back to the operator, but its password never is: it would land in
    /// terminals, CI logs and crash reports.
    @Test(arguments: [
        ("DATABASE_URL", "mysql://app:hunter2-secret@db/orders"), ("DATABASE_URL", "postgres://app:hunter2-secret@/orders"),
        ("DATABASE_URL", "postgres://app:hunter2-secret@db:99999999/orders"),
        ("REDIS_URL", "redis://:hunter2-secret@cache:0"), ("REDIS_URL", "redis://hunter2-secret@cache:abc"),
        ("REDIS_URL", "rediss://user:hunter2-secret@cache"), ("REDIS_URL", "redis://:hunter2-secret@cache/x"),
    ])
    func badURLsAreQuotedWithoutTheirPassword(_ name: String, _ value: String) {
        var environment = ["JWT_SECRET": "0123456789abcdef0123456789abcdef"]
        environment[name] = value
        let error = #expect(throws: ConfigurationError.self) {
            try FlashSaleConfiguration(.init(environment: environment))
        }
        #expect(error?.setting == name)
        #expect(error?.description.contains("hunter2") == false, "\(error?.description ?? "")")
        #expect(error?.description.contains("***") == true, "\(error?.description ?? "")")
    }

    @Test func tokenAndOrderWriteSettings() throws {
        let defaults = try FlashSaleConfiguration(.init(environment: ["JWT_SECRET": "0123456789abcdef0123456789abcdef"]))
        #expect(defaults.jwtIssuer == nil)
        #expect(defaults.jwtAudience == nil)
        #expect(defaults.jwtMaxLifetimeSeconds == 86_400)
        #expect(defaults.orderWriteLockTimeoutMilliseconds == 2_000)
        #expect(defaults.orderWriteStatementTimeoutMilliseconds == 5_000)
        let set = try FlashSaleConfiguration(
            .init(environment: [
                "JWT_SECRET": "0123456789abcdef0123456789abcdef", "JWT_ISSUER": "https://id.example",
                "JWT_AUDIENCE": "flashsale", "JWT_MAX_LIFETIME_SECONDS": "3600", "ORDER_WRITE_LOCK_TIMEOUT_MS": "500",
                "ORDER_WRITE_STATEMENT_TIMEOUT_MS": "8000",
            ]))
        #expect(set.jwtIssuer == "https://id.example")
        #expect(set.jwtAudience == "flashsale")
        #expect(set.jwtMaxLifetimeSeconds == 3600)
        #expect(set.orderWriteLockTimeoutMilliseconds == 500)
        #expect(set.orderWriteStatementTimeoutMilliseconds == 8000)
    }
}
