import Synchronization

/// The sold-out short circuit: SKUs this process saw sell out, so purchase attempts for them are
/// answered 409 sold_out from memory, without Redis.
///
/// Two things keep that answer the one Redis would give:
/// - **Idempotency.** A retried checkout token must get its first answer back (a lost 201 stays a
///   201), and only Redis knows how a token was used. A token carries the second it was issued
///   (``CheckoutTokens``): one issued after the SKU sold out (and after every later change of its
///   stock) cannot have won a unit of it, so its answer can only be sold_out. Older tokens, and
///   tokens from a clock more than ``clockMargin`` ahead, go to Redis.
/// - **Stock coming back.** A cancellation or an expiry made here clears the mark at once; one
///   made elsewhere (another instance, the worker) is seen by the next check of the stock and the
///   SKU's change count, at most ``recheckInterval`` after the last: that check is made by one
///   attempt, while the others are still answered from memory.
public final class SoldOutSKUs: Sendable {
    public static let recheckInterval = Duration.milliseconds(50)
    /// Seconds of clock difference allowed between the instance that issued a token and this one.
    public static let clockMargin: Int64 = 2

    struct Key: Hashable {
        let saleID: String
        let sku: String
    }

    struct Mark {
        /// Wall-clock second (Unix) from which the SKU is known to have been sold out throughout.
        var since: Int64
        /// The SKU's change count then: a later count means units were sold or given back since.
        var version: Int64
        var checkedAt: ContinuousClock.Instant
        var checking: Bool
    }

    public enum Verdict: Sendable, Equatable {
        /// Ask Redis, as without the short circuit.
        case unknown
        /// Answer sold_out.
        case soldOut
        /// Look at the stock again (``checked(saleID:sku:stock:version:unixSeconds:now:)``) and
        /// answer from that.
        case recheck
    }

    private let marks = Mutex<[Key: Mark]>([:])
    /// SKUs remembered at most (a sale of a million SKUs selling out would otherwise grow this).
    let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// How to answer an attempt with a token issued at `issuedAt` (Unix seconds, nil when unknown).
    public func verdict(
        saleID: String, sku: String, issuedAt: Int64?, unixSeconds: Int64, now: ContinuousClock.Instant = .now
    ) -> Verdict {
        guard let issuedAt, issuedAt <= unixSeconds + Self.clockMargin else { return .unknown }
        return marks.withLock { marks in
            let key = Key(saleID: saleID, sku: sku)
            guard var mark = marks[key], issuedAt > mark.since + Self.clockMargin else { return .unknown }
            guard !mark.checking, now - mark.checkedAt >= Self.recheckInterval else { return .soldOut }
            mark.checking = true
            marks[key] = mark
            return .recheck
        }
    }

    /// Redis said the SKU has `stock` left (less than an attempt asked) at change count `version`.
    /// With none left it is marked sold out, from `unixSeconds` unless the count is the one already
    /// marked (nothing changed since); with some left, the mark goes.
    public func checked(
        saleID: String, sku: String, stock: Int64?, version: Int64, unixSeconds: Int64, now: ContinuousClock.Instant = .now
    ) {
        let key = Key(saleID: saleID, sku: sku)
        marks.withLock { marks in
            guard let stock, stock <= 0 else {
                marks[key] = nil
                return
            }
            if var mark = marks[key], mark.version == version {
                mark.checkedAt = now
                mark.checking = false
                marks[key] = mark
                return
            }
            guard marks[key] != nil || marks.count < capacity else { return }
            marks[key] = Mark(since: unixSeconds, version: version, checkedAt: now, checking: false)
        }
    }

    /// A check of the stock failed: the next attempt may try again.
    public func checkFailed(saleID: String, sku: String) {
        marks.withLock { marks in
            marks[Key(saleID: saleID, sku: sku)]?.checking = false
        }
    }

    /// Units of the SKU went back to Redis from this process.
    public func stockReturned(saleID: String, sku: String) {
        _ = marks.withLock { $0.removeValue(forKey: Key(saleID: saleID, sku: sku)) }
    }

    public var count: Int { marks.withLock { $0.count } }
}
