import FlashSale
import Logging

/// swift-log's stream handler, except that metadata is only formatted when a line is written.
/// The stream handler formats all of its metadata whenever any of it changes, and Hummingbird sets
/// a request id on every request's logger: a few percent of the service's CPU time spent on text
/// that, below the info level, nobody reads.
struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    /// - Parameter output: where lines go; nil writes them to standard error as they are logged.
    init(label: String, output: BackgroundLogStream?) {
        stream =
            if let output {
                StreamLogHandler(label: label, stream: output)
            } else {
                StreamLogHandler.standardError(label: label)
            }
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        stream.log(event: event)
    }
}
