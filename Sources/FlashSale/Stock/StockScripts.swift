import RedisClient

/// The Lua scripts that change stock in Redis (`reserve.lua`, `finalize.lua`, `compensate.lua`,
/// `release.lua` beside this file, embedded at build time), each with its KEYS and ARGV by name.
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

        let token: String
        let idempotencyRecord: String
        let bought: String
        let stock: String
        let ledger: String
        let changes: String
        let fence: String

        let shopper: String
        let quantity: Int64
        let limit: Int64
        let fingerprint: String
        let ledgerMember: String
        let recordSeconds: Int64
        let sku: String

        init(
            _ keys: RedisKeys, sku: String, token: String, shopper: String, quantity: Int64, limit: Int64,
            fingerprint: String, recordSeconds: Int64
        ) {
            self.token = keys.token(token)
            idempotencyRecord = keys.idempotency(token)
            bought = keys.bought(shopper: shopper, sku: sku)
            stock = keys.stock(sku)
            ledger = keys.reservations
            changes = keys.changes(sku)
            fence = keys.repairFence(sku)
            self.shopper = shopper
            self.quantity = quantity
            self.limit = limit
            self.fingerprint = fingerprint
            ledgerMember = token
            self.recordSeconds = recordSeconds
            self.sku = sku
        }

        /// In `KEYS[1…7]` order.
        var keys: [RedisArgument] {
            [
                .string(token), .string(idempotencyRecord), .string(bought), .string(stock), .string(ledger), .string(changes),
                .string(fence),
            ]
        }

        /// In `ARGV[1…7]` order.
        var arguments: [RedisArgument] {
            [
                .string(shopper), .integer(quantity), .integer(limit), .string(fingerprint), .string(ledgerMember),
                .integer(recordSeconds), .string(sku),
            ]
        }
    }

    /// After the order committed: keep its answer for replays, drop its ledger entry.
    struct Finalize {
        static let script = RedisScript(EmbeddedLua.finalize)

        let idempotencyRecord: String
        let ledger: String
        let body: [UInt8]
        let ledgerMember: String

        init(_ keys: RedisKeys, token: String, body: [UInt8]) {
            idempotencyRecord = keys.idempotency(token)
            ledger = keys.reservations
            self.body = body
            ledgerMember = token
        }

        var keys: [RedisArgument] { [.string(idempotencyRecord), .string(ledger)] }
        var arguments: [RedisArgument] { [.bytes(body), .string(ledgerMember)] }
    }

    /// The order never committed: give the stock and the shopper's count back, once. Removing the
    /// ledger entry is the guard, so this and the worker's sweep cannot both give it back.
    struct Compensate {
        static let script = RedisScript(EmbeddedLua.compensate)

        let idempotencyRecord: String
        let ledger: String
        let stock: String
        let bought: String
        let changes: String
        let ledgerMember: String
        let quantity: Int64

        init(_ keys: RedisKeys, sku: String, token: String, shopper: String, quantity: Int64) {
            idempotencyRecord = keys.idempotency(token)
            ledger = keys.reservations
            stock = keys.stock(sku)
            bought = keys.bought(shopper: shopper, sku: sku)
            changes = keys.changes(sku)
            ledgerMember = token
            self.quantity = quantity
        }

        var keys: [RedisArgument] {
            [.string(idempotencyRecord), .string(ledger), .string(stock), .string(bought), .string(changes)]
        }
        var arguments: [RedisArgument] { [.string(ledgerMember), .integer(quantity)] }
    }

    /// A cancelled or expired order's stock goes back, once per order (the marker is the guard).
    struct Release {
        static let script = RedisScript(EmbeddedLua.release)

        let releasedMarker: String
        let stock: String
        let bought: String
        let changes: String
        let quantity: Int64
        let markerSeconds: Int64

        init(_ keys: RedisKeys, sku: String, order: String, shopper: String, quantity: Int64, markerSeconds: Int64) {
            releasedMarker = keys.released(order: order)
            stock = keys.stock(sku)
            bought = keys.bought(shopper: shopper, sku: sku)
            changes = keys.changes(sku)
            self.quantity = quantity
            self.markerSeconds = markerSeconds
        }

        var keys: [RedisArgument] { [.string(releasedMarker), .string(stock), .string(bought), .string(changes)] }
        var arguments: [RedisArgument] { [.integer(quantity), .integer(markerSeconds)] }
    }
}
