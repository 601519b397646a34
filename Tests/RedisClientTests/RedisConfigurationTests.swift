import RedisClient
import Testing

@Suite("REDIS_URL parsing")
struct RedisConfigurationTests {
    @Test func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:p%40ss@cache.internal:7000/5")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 7000)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == 5)
    }

    @Test func defaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.password == nil)
        #expect(try RedisConfiguration(url: "redis://:secret@h:1/").password == "secret")
        #expect(try RedisConfiguration(url: "redis://[::1]:6380").host == "::1")
    }

    @Test(arguments: [
        "http://localhost", "redis://", "redis://host:0", "redis://host:99999", "redis://host/x", "redis://host:abc",
    ])
    func rejects(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}
