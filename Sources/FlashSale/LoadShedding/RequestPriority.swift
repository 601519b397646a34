/// Which requests go first when the service is past its limit: reads are shed first, purchases and
/// payments last. Each may use its share of the limit on requests in flight.
public enum RequestPriority: String, Sendable, CaseIterable {
    /// Sale and item pages, one's own orders: a retry costs the shopper nothing.
    case read
    /// Checkout tokens: the step before a purchase.
    case checkout
    /// Orders, payments, cancellations: the sale itself.
    case purchase

    /// The share of the limit that requests of this priority may fill.
    var share: Double {
        switch self {
        case .read: 0.5
        case .checkout: 0.75
        case .purchase: 1.0
        }
    }
}
