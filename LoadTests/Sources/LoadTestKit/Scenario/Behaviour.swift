/// What one simulated arrival does. Every shopper looks at the item first; what follows differs.
public enum Behaviour: String, Sendable, Codable, CaseIterable {
    /// Takes a checkout token, orders once and pays.
    case buyOnce = "buy_once"
    /// Sends the same order twice at once with one checkout token (a double click), then pays.
    case doubleSubmit = "double_submit"
    /// Like buy_once, but after a 429 or 503 waits for `Retry-After` and tries again (3 times at most).
    case retry
    /// Orders, then cancels: the unit goes back on sale.
    case cancel
    /// Orders and never pays: the worker expires the order once its payment window passes.
    case abandon
    /// Refreshes the item page every second a few times, then buys once and pays.
    case refresh
    /// A few identities firing purchase attempts as fast as `bots.interval_milliseconds` allows,
    /// some with a forged JWT.
    case bot
}
