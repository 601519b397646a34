import FlashSale
import Foundation
import Logging
import PostgresNIO

/// `order_expiry`, due at the order's `pay_by`: a still-reserved order becomes `expired`, its units
/// go back to PostgreSQL in the same transaction and to Redis once, and its e-mail is enqueued.
/// A whole batch is one transaction. The state change is conditional (`status = 'reserved'`, `pay_by`
/// passed), so a pay racing the expiry has exactly one winner: a pay that takes the order first
/// (`paying`) leaves nothing to expire, and one that comes after finds the order expired (409
/// order_expired). A `paying` order is never expired: its job waits (`payingRecheck`) until the
/// payment ends, and expires the order then if the payment left it reserved (declined, never charged).
public struct OrderExpiryHandler: JobHandler {
    /// How long the expiry of a `paying` order waits before it looks again. A payment normally ends
    /// within the gateway's timeout; one whose answer was lost ends by the worker's `payment_check`.
    public static let payingRecheck = Duration.seconds(2)

    public let kind = "order_expiry"
    let postgres: PostgresClient
    let stockReturn: StockReturn
    let logger: Logger

    public init(postgres: PostgresClient, reservations: StockReservations, logger: Logger) {
        self.postgres = postgres
        stockReturn = StockReturn(postgres: postgres, reservations: reservations, logger: logger)
        self.logger = logger
    }

    struct Payload: Decodable {
        let order_id: UUID
    }

    public func run(_ jobs: [LeasedJob]) async -> [JobOutcome] {
        var outcomes = [JobOutcome](repeating: .done, count: jobs.count)
        var ids: [UUID] = []
        var index: [UUID: Int] = [:]
        for (position, job) in jobs.enumerated() {
            do {
                let id = try job.decode(Payload.self).order_id
                ids.append(id)
                index[id] = position
            } catch {
                outcomes[position] = .dead("\(error)")
            }
        }
        guard !ids.isEmpty else { return outcomes }
        do {
            try await expireAndRelease(ids, into: &outcomes, index: index)
        } catch _ where ids.count > 1 {
            // One order the batch cannot expire (a deadlock victim, a row that breaks a constraint)
            // must not hold back the others: each on its own, and only its own job fails.
            for id in ids {
                do {
                    try await expireAndRelease([id], into: &outcomes, index: index)
                } catch {
                    if let position = index[id] { outcomes[position] = .failed(PostgresErrorText.describe(error)) }
                }
            }
        } catch {
            for id in ids { if let position = index[id] { outcomes[position] = .failed(PostgresErrorText.describe(error)) } }
        }
        return outcomes
    }

    private func expireAndRelease(_ ids: [UUID], into outcomes: inout [JobOutcome], index: [UUID: Int]) async throws {
        let (expired, notDue) = try await expire(ids)
        for (id, wait) in notDue { if let position = index[id] { outcomes[position] = .postponed(wait) } }
        await stockReturn.releaseInRedis(expired)
    }

    /// The orders it expired, and those to look at again, with how long to wait: still reserved with
    /// `pay_by` to come, or being paid.
    func expire(_ ids: [UUID]) async throws -> (expired: [ReturnedUnits], notDue: [(UUID, Duration)]) {
        try await postgres.withTransaction(logger: logger) { connection in
            let expired = try await connection.query(
                """
                UPDATE orders SET status = 'expired', version = version + 1, updated_at = now()
                WHERE id = ANY(\(ids)) AND status = 'reserved' AND pay_by <= now()
                RETURNING id, sale_id, sku, shopper_id, quantity::bigint
                """, logger: logger
            ).decode((UUID, String, String, String, Int64).self).collectAll().map {
                ReturnedUnits(orderID: $0.0.uuidString.lowercased(), saleID: $0.1, sku: $0.2, shopperID: $0.3, quantity: $0.4)
            }
            try await StockReturn.record(expired, event: "order_expired", on: connection, logger: logger)
            var notDue: [(UUID, Duration)] = []
            if expired.count < ids.count {
                let done = Set(expired.map(\.orderID))
                let rest = ids.filter { !done.contains($0.uuidString.lowercased()) }
                notDue = try await connection.query(
                    """
                    SELECT id, CASE WHEN status = 'paying' THEN \(Self.payingRecheck / .seconds(1))
                                    ELSE extract(epoch FROM pay_by - now())::float8 END
                    FROM orders
                    WHERE id = ANY(\(rest)) AND (status = 'reserved' AND pay_by > now() OR status = 'paying')
                    """, logger: logger
                ).decode((UUID, Double).self).collectAll().map { ($0.0, .milliseconds(Int64($0.1 * 1000) + 1)) }
            }
            return (expired, notDue)
        }
    }
}
