/// How long a route waits on PostgreSQL. Its pool keeps a request waiting up to a minute while the
/// server is down; past these the answer is 503 (for writes: outcome unknown, retry with the same key).
enum RouteDeadlines {
    static let read = Duration.seconds(3)
    static let write = Duration.seconds(5)
}
