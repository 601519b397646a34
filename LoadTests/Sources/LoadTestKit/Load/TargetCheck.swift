import AsyncHTTPClient
import NIOCore

/// A target that does not answer is one clear line before anything is seeded, not thousands of
/// lost answers in a report.
public enum TargetCheck {
    public static func healthz(_ target: String) async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let status: Result<UInt, any Error>
        do {
            let response = try await http.execute(HTTPClientRequest(url: target + "/healthz"), timeout: .seconds(5))
            status = .success(response.status.code)
        } catch {
            status = .failure(error)
        }
        try await http.shutdown()
        switch status {
        case .success(200): return
        case .success(let code): throw ScenarioError("\(target)/healthz answered \(code), not 200: is this a FlashSale service?")
        case .failure(let error):
            throw ScenarioError(
                "nothing answers at \(target) (\(ServiceClient.reason(error))): start the service first (`make run`)")
        }
    }
}
