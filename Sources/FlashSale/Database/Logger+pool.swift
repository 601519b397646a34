import Logging

extension Logger {
    /// The pool's own chatter (leases, reconnect attempts) only when something is really wrong;
    /// failed queries surface where they are made.
    public var poolLogger: Logger {
        var logger = self
        logger.logLevel = max(logger.logLevel, .error)
        return logger
    }
}
