import RedisClient

/// The repair's last resort on a SKU that sells faster than one comparison takes: for a moment its
/// purchases that would win units are turned away (503, checkout token kept for the retry), so the
/// SKU's change count holds still while the repair reads and writes. Correctness never rests on the
/// fence: the repair's compare-and-set refuses anything that changed, fenced or not; the fence only
/// lets it finish. It expires by itself, so a repair that dies holding it blocks nothing for long.
struct RepairFence: Sendable {
    /// Several repair attempts' worth: a comparison takes milliseconds.
    static let lifetimeMilliseconds: Int64 = 1_000

    let redis: RedisClient
    let saleID: String
    /// Tells this repair's fences from another's, so each lifts only its own.
    let holder: String

    /// Raises the fence on `skus`, runs `body`, and lifts it again, whatever `body` did.
    func around<T: Sendable>(_ skus: [String], _ body: () async throws -> T) async throws -> T {
        let keys = RedisKeys(saleID: saleID)
        let fences: [RedisArgument] = skus.map { .string(keys.repairFence($0)) }
        _ = try await redis.run(
            Self.raise, keys: fences, arguments: [.string(holder), .integer(Self.lifetimeMilliseconds)])
        let result: T
        do {
            result = try await body()
        } catch {
            _ = try? await redis.run(Self.lift, keys: fences, arguments: [.string(holder)])
            throw error
        }
        _ = try await redis.run(Self.lift, keys: fences, arguments: [.string(holder)])
        return result
    }

    /// KEYS: fences. ARGV: holder, lifetime in milliseconds.
    static let raise = RedisScript(
        """
        for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
        return #KEYS
        """)

    /// Lifts the fences this holder raised. KEYS: fences. ARGV: holder.
    static let lift = RedisScript(
        """
        local lifted = 0
        for _, key in ipairs(KEYS) do
          if redis.call('GET', key) == ARGV[1] then lifted = lifted + redis.call('DEL', key) end
        end
        return lifted
        """)
}
