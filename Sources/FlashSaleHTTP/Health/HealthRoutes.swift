import Hummingbird

/// /healthz: the process is up. /readyz: it can reach Redis and PostgreSQL (load balancers route on this).
struct HealthRoutes {
    let readiness: ReadinessCheck

    func register(on router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            HealthStatus(status: "ok", checks: nil)
        }
        router.get("/readyz") { _, _ -> HealthStatus in
            let result = await readiness.check()
            let checks = ["redis": result.redis ? "up" : "down", "postgres": result.postgres ? "up" : "down"]
            guard result.ready else {
                let down = checks.filter { $0.value == "down" }.keys.sorted().joined(separator: ", ")
                var problem = Problem.unavailable("not ready: \(down) unreachable")
                problem.extensions = checks
                throw problem
            }
            return HealthStatus(status: "ready", checks: checks)
        }
    }
}

struct HealthStatus: ResponseEncodable {
    let status: String
    let checks: [String: String]?
}
