import Metrics
import NIOCore
import Synchronization

/// Counts the server's open connections and turns away those beyond the cap: a connection accepted
/// over it is closed at once (the client sees the connection end, not a wait in the listen
/// backlog), counted in `flashsale_http_connections_refused_total`. The cap keeps the process under
/// its file-descriptor limit, which PostgreSQL and Redis reconnections need too.
final class OpenConnections: Sendable {
    let maximum: Int
    private let count = Atomic<Int>(0)
    private let metrics: ConnectionMetrics

    init(maximum: Int, metrics: ConnectionMetrics) {
        self.maximum = maximum
        self.metrics = metrics
    }

    /// Counts `channel` until it closes, or closes it if the cap is reached. False when refused.
    func admit(_ channel: any Channel) -> Bool {
        let open = count.wrappingAdd(1, ordering: .relaxed).newValue
        guard open <= maximum else {
            count.wrappingSubtract(1, ordering: .relaxed)
            metrics.refused.increment()
            channel.close(promise: nil)
            return false
        }
        metrics.open.increment()
        channel.closeFuture.whenComplete { _ in
            self.count.wrappingSubtract(1, ordering: .relaxed)
            self.metrics.open.decrement()
        }
        return true
    }
}

/// The server's connection metrics, made once the Prometheus registry is in place.
struct ConnectionMetrics: Sendable {
    let open: Meter
    let refused: Counter
    let readTimeouts: Counter
    /// Connections closed with a request still in progress when the shutdown's time was up.
    let cut: Counter

    init() {
        // Metrics made before swift-metrics is bootstrapped would count into nothing, for ever.
        _ = PrometheusMetrics.registry
        open = Meter(label: "flashsale_http_connections_open")
        refused = Counter(label: "flashsale_http_connections_refused_total")
        readTimeouts = Counter(label: "flashsale_http_request_read_timeouts_total")
        cut = Counter(label: "flashsale_http_connections_cut_total")
    }
}
