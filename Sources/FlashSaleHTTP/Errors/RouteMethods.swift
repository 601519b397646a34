import Hummingbird
import Synchronization

/// The methods each registered path answers, so that a known path asked with another method gets
/// 405 and an `Allow` header instead of the router's 404. Filled once, after every route is registered;
/// read only for requests no route matched, so its lock is off the hot path.
public final class RouteMethods: Sendable {
    private struct Route {
        let segments: [Substring]
        let method: HTTPRequest.Method
    }

    private let routes = Mutex<[Route]>([])

    public init() {}

    /// Takes the routes the router holds now; call it after the last route is added.
    public func record<Context>(_ router: Router<Context>) {
        let recorded = router.routes.map { Route(segments: Self.segments(of: "\($0.path)"), method: $0.method) }
        routes.withLock { $0 = recorded }
    }

    /// The methods registered for a path, in registration order; empty when the path is unknown.
    public func allowed(for path: String) -> [HTTPRequest.Method] {
        let requested = Self.segments(of: path)
        var methods: [HTTPRequest.Method] = []
        routes.withLock { routes in
            for route in routes where Self.matches(route.segments, requested) && !methods.contains(route.method) {
                methods.append(route.method)
            }
        }
        // The router answers HEAD wherever it answers GET (autoGenerateHeadEndpoints).
        if let get = methods.firstIndex(of: .get), !methods.contains(.head) { methods.insert(.head, at: get + 1) }
        return methods
    }

    private static func segments(of path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// A `{name}` (how RouterPath describes `:name`) or `*` segment stands for any one segment of the path.
    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        guard pattern.count == path.count else { return false }
        return zip(pattern, path).allSatisfy { expected, actual in
            (expected.first == "{" && expected.last == "}") || expected == "*" || expected == actual
        }
    }
}
