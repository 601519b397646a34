import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Every connection costs a file descriptor, and the default soft limit (often 1024) is far below
/// HTTP_MAX_CONNECTIONS: at it, accept fails and the server stops taking connections for a while,
/// and PostgreSQL and Redis cannot reconnect. The soft limit is raised to the hard one, as Go and
/// nginx (`worker_rlimit_nofile`) do; if that still leaves too few, the operator hears at start.
enum FileDescriptorLimit {
    /// Descriptors kept for everything but client connections: pools, log pipes, listen sockets.
    static let reserve = 256

    static func raise(toServe maximumConnections: Int, logger: Logger) {
        #if canImport(Glibc)
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
            if limit.rlim_cur < limit.rlim_max {
                var raised = limit
                raised.rlim_cur = limit.rlim_max
                if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
            }
            let available = Int(clamping: limit.rlim_cur)
            if available < maximumConnections + reserve {
                logger.warning(
                    "the open-file limit (\(available)) is below HTTP_MAX_CONNECTIONS (\(maximumConnections)) plus \(reserve) for the stores; raise it (ulimit -n) or lower HTTP_MAX_CONNECTIONS"
                )
            }
        #endif
    }
}
