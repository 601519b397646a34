// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "FlashSale",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flashsale", targets: ["flashsale"]),
        .library(name: "RedisClient", targets: ["RedisClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // hiredis does the RESP wire format (encoding commands, parsing replies); NIO does the I/O.
        // Headers from libhiredis-dev under /usr/include/hiredis; no pkg-config, whose Cflags carry a
        // -D_FILE_OFFSET_BITS=64 that SwiftPM refuses with a warning on every build.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // A connection that is replaced when it dies, with a back-off: Redis and the order writes.
        .target(
            name: "ConnectionSlot",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // A circuit breaker as a pure state machine: the e-mail provider's, and the service's
        // around Redis, PostgreSQL and the payment gateway.
        .target(name: "CircuitBreaking"),
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                "ConnectionSlot",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "FlashSale",
            dependencies: [
                "CircuitBreaking",
                "ConnectionSlot",
                "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            // Embedded by EmbedLuaScripts rather than compiled or bundled.
            exclude: ["Stock/reserve.lua", "Stock/finalize.lua", "Stock/compensate.lua", "Stock/release.lua"],
            plugins: ["EmbedMigrations", "EmbedLuaScripts"]
        ),
        // E-mail delivery for the worker: an HTTP provider (signed, rate-limited, behind a circuit
        // breaker) or, with none configured, `.eml` files in a local outbox folder.
        .target(
            name: "FlashSaleEmail",
            dependencies: [
                "CircuitBreaking",
                "RedisClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `flashsale worker`: the job queue and what its jobs do (expiry, Redis releases, e-mail),
        // the reservation-ledger sweep and the re-priming of a Redis that lost its data.
        .target(
            name: "FlashSaleWorker",
            dependencies: [
                "FlashSale",
                "FlashSaleEmail",
                "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Build-time embedding: the migrations and the Lua scripts ship inside the binary.
        .executableTarget(name: "embed-files", path: "Plugins/EmbedFilesTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-files"]),
        .plugin(name: "EmbedLuaScripts", capability: .buildTool(), dependencies: ["embed-files"]),
        .target(
            name: "FlashSaleHTTP",
            dependencies: [
                "CircuitBreaking",
                "FlashSale",
                "RedisClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "flashsale",
            dependencies: [
                "CircuitBreaking",
                "FlashSale",
                "FlashSaleHTTP",
                "FlashSaleWorker",
                "FlashSaleEmail",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // `make bench`: drives the purchase-shaped Lua script through our client (release build).
        .executableTarget(
            name: "flashsale-redis-bench",
            dependencies: [
                "RedisClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/RedisBench"
        ),
        // The sale-day load test (`flashsale-loadtest`): scenarios, open-loop load, the report and
        // the audit of both stores, also used by `make bench`.
        .target(
            name: "LoadTestKit",
            dependencies: [
                "FlashSale",
                "FlashSaleHTTP",
                "RedisClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "LoadTests/Sources/LoadTestKit"
        ),
        .executableTarget(
            name: "flashsale-loadtest",
            dependencies: [
                "LoadTestKit",
                "FlashSale",
                "FlashSaleHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "LoadTests/Sources/flashsale-loadtest"
        ),
        // Private redis-servers and throw-away databases for the integration tests.
        .target(
            name: "FlashSaleTestSupport",
            dependencies: [
                "FlashSale",
                "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/Support"
        ),
        // `make bench`: committed orders per second on one hot SKU, coalesced vs one update per order.
        .executableTarget(
            name: "flashsale-order-bench",
            dependencies: [
                "FlashSale",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/OrderBench"
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: ["RedisClient", "FlashSaleTestSupport", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "FlashSaleTests",
            dependencies: [
                "CircuitBreaking", "FlashSale", "FlashSaleTestSupport", "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FlashSaleHTTPTests",
            dependencies: [
                "CircuitBreaking",
                "FlashSaleHTTP",
                "FlashSaleTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        .testTarget(
            name: "FlashSaleEmailTests",
            dependencies: [
                "CircuitBreaking", "FlashSaleEmail", "FlashSaleTestSupport", "RedisClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FlashSaleWorkerTests",
            dependencies: [
                "FlashSaleWorker", "FlashSaleEmail", "FlashSale", "FlashSaleTestSupport", "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The load test's plan, report and rendering, without servers.
        .testTarget(
            name: "LoadTestKitTests",
            dependencies: [
                "LoadTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Runs the built `flashsale` and `flashsale-loadtest` executables (make test builds them
        // first with --build-tests).
        .testTarget(
            name: "FlashSaleCLITests",
            dependencies: [
                "FlashSale", "FlashSaleHTTP", "FlashSaleTestSupport", "LoadTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Async functions run on their caller's executor (SE-0461) instead of hopping to the global one at
// every call: a sold-out answer passes a dozen of them, and each hop took a lock in the runtime.
for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
