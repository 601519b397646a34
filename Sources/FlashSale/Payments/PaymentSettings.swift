/// How long a payment waits on the gateway, and when an unanswered one may be settled.
public struct PaymentSettings: Sendable, Equatable {
    /// How long a pay waits for the gateway's answer before answering 503 with the outcome unknown
    /// (the payment stays pending and is settled by a lookup). Also the time within which a pay must
    /// have sent its charge after recording the payment, or it sends none.
    public var chargeTimeout: Duration = .seconds(3)
    /// How long after a payment was recorded its charge may still take effect at the gateway (sent
    /// within `chargeTimeout`, then however long the gateway may take to act on a request it got).
    /// A lookup that finds no charge settles a payment as not charged only once it is this old.
    public var settleTime: Duration = .seconds(60)
    /// How often a repeat of a payment still running looks for its answer.
    public var pollInterval: Duration = .milliseconds(20)

    public init() {}

    /// After this, no request is still waiting for the gateway's answer to a payment this old: a repeat
    /// waits for the answer until then, and the worker's check of the payment is due then.
    public var inFlightBound: Duration { chargeTimeout + .seconds(1) }

    /// The longest a pay may spend on the gateway: a repeat waiting out `inFlightBound`, then a lookup.
    public var longestGatewayWait: Duration { inFlightBound + chargeTimeout }
}
