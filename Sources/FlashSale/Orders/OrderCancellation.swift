import Foundation
import Logging
import PostgresNIO

/// Cancels a reserved order: the stock goes back in PostgreSQL in the same transaction as the state
/// change, and in Redis right after, once. A job recorded in that transaction makes the Redis release
/// survive a crash or a Redis outage: the worker finishes it when the inline attempt could not.
///
/// Only the request that made the change hears 200. Any later or concurrent one, including a repeat
/// of a cancel that succeeded, hears 409 order_not_cancellable: each 200 stands for units given
/// back once, so a client adding up its answers arrives at the stock.
public struct OrderCancellation: Sendable {
    let postgres: PostgresClient
    let stockReturn: StockReturn
    let logger: Logger

    public init(postgres: PostgresClient, reservations: StockReservations, logger: Logger) {
        self.postgres = postgres
        stockReturn = StockReturn(postgres: postgres, reservations: reservations, logger: logger)
        self.logger = logger
    }

    public func cancel(orderID: String, shopperID: String) async throws -> OrderAnswer {
        guard let id = UUID(uuidString: orderID) else { return .notFound(orderID) }
        let outcome: (answer: OrderAnswer, released: Order?) = try await postgres.withTransaction(logger: logger) {
            connection in
            guard let current = try await OrderRepository.order(id, on: connection, logger: logger),
                current.shopperID == shopperID
            else { return (.notFound(orderID), nil) }
            guard let cancelled = try await OrderRepository.transition(id, to: .cancelled, on: connection, logger: logger)
            else {
                // Not reserved (any more): say what it is now.
                let now = try await OrderRepository.order(id, on: connection, logger: logger) ?? current
                return (
                    .problem(
                        409, "order_not_cancellable", "Order not cancellable",
                        "the order is \(now.status.rawValue); only reserved orders can be cancelled"), nil
                )
            }
            try await StockReturn.record(
                [ReturnedUnits(cancelled)], event: "order_cancelled", on: connection, logger: logger)
            return (.order(cancelled), cancelled)
        }
        if let order = outcome.released {
            await stockReturn.releaseInRedis([ReturnedUnits(order)])
        }
        return outcome.answer
    }
}
