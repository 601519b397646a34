import RedisClient

/// The Lua scripts that change stock in Redis (`reserve.lua`, `finalize.lua`, `compensate.lua`,
/// `release.lua` beside this file, embedded at build time), each built from named
/// parameters into the KEYS and ARGV order its header lists.
/// Each runs atomically in one round trip and takes time from the server (`TIME`), never from the
/// caller.
///
/// The shebang lines tell a Redis at `maxmemory` (noeviction) what to refuse. A purchase attempt
/// (`#!lua`, no flags) is refused whole before it writes anything, and the shopper hears 503; a
/// flagless script would be refused only at its first memory-growing command, and one that
/// begins with a DEL (as `reserve` does) not at all. Scripts that settle what was already promised
/// (an order's final answer, units given back) run even then: they mostly free memory, and
/// refusing them would leave a committed order's token answering 409 request_in_progress.
enum StockScripts {
    /// A purchase attempt. The token is consumed (deleted) on its first use; later uses are
    /// answered from the record. A winner bumps the change count (the repair's compare-and-set);
    /// while a repair fences the SKU, a would-be winner is answered `not_stocked` and keeps its
    /// token, so its retry can win. `won` and `sold_out` carry the stock left and the change count
    /// (``SoldOutSKUs`` keeps them).
    struct Reserve {
        static let script = RedisScript(EmbeddedLua.reserve)
        let keys: [RedisArgument]
        let arguments: [RedisArgument]

        init(
            _ keys: RedisKeys, sku: String, token: String, shopper: String, quantity: Int64, limit: Int64,
            fingerprint: String, recordSeconds: Int64
        ) {
            self.keys = [
                .string(keys.token(token)), .string(keys.idempotency(token)), .string(keys.bought(shopper: shopper, sku: sku)),
                .string(keys.stock(sku)), .string(keys.reservations), .string(keys.changes(sku)),
                .string(keys.repairFence(sku)),
            ]
            // The ledger member is the token.
            arguments = [
                .string(shopper), .integer(quantity), .integer(limit), .string(fingerprint), .string(token),
                .integer(recordSeconds), .string(sku),
            ]
        }
    }

    /// After the order committed: keep its answer for replays, drop its ledger entry.
    struct Finalize {
        static let script = RedisScript(EmbeddedLua.finalize)
        let keys: [RedisArgument]
        let arguments: [RedisArgument]

        init(_ keys: RedisKeys, token: String, body: [UInt8]) {
            self.keys = [.string(keys.idempotency(token)), .string(keys.reservations)]
            arguments = [.bytes(body), .string(token)]
        }
    }

    /// The order never committed: give the stock and the shopper's count back, once. Removing the
    /// ledger entry is the guard, so this and the worker's sweep cannot both give it back.
    struct Compensate {
        static let script = RedisScript(EmbeddedLua.compensate)
        let keys: [RedisArgument]
        let arguments: [RedisArgument]

        init(_ keys: RedisKeys, sku: String, token: String, shopper: String, quantity: Int64) {
            self.keys = [
                .string(keys.idempotency(token)), .string(keys.reservations), .string(keys.stock(sku)),
                .string(keys.bought(shopper: shopper, sku: sku)), .string(keys.changes(sku)),
            ]
            arguments = [.string(token), .integer(quantity)]
        }
    }

    /// A cancelled or expired order's stock goes back, once per order (the marker is the guard).
    struct Release {
        static let script = RedisScript(EmbeddedLua.release)
        let keys: [RedisArgument]
        let arguments: [RedisArgument]

        init(_ keys: RedisKeys, sku: String, order: String, shopper: String, quantity: Int64, markerSeconds: Int64) {
            self.keys = [
                .string(keys.released(order: order)), .string(keys.stock(sku)), .string(keys.bought(shopper: shopper, sku: sku)),
                .string(keys.changes(sku)),
            ]
            arguments = [.integer(quantity), .integer(markerSeconds)]
        }
    }
}
