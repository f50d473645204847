import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Metrics
import Testing
import WeirRuntime
import WeirService

/// The endpoint over real HTTP on a free port: /healthz, /readyz following ``RuntimeStatus``,
/// /metrics in the text format.
struct OperationsEndpointTests {
    /// Generous: in the whole suite, long synchronous tests can occupy the 2-core machine's
    /// cooperative pool for a minute or more, and the server starts on that pool.
    static let startTimeout: Duration = .seconds(180)

    func get(_ port: Int, _ path: String) async throws -> (status: Int, contentType: String, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
    }

    @Test func probesFollowTheStatusAndMetricsAreServed() async throws {
        let status = RuntimeStatus()
        let registry = sharedRegistry
        Counter(label: "weir_endpoint_test_total", dimensions: [("case", "probe")]).increment(by: 7)
        let endpoint = try await OperationsEndpoint.start(host: "127.0.0.1", port: 0, registry: registry, status: status,
                                                          logger: Logger(label: "test"), timeout: Self.startTimeout)
        defer { endpoint.task.cancel() }
        #expect(endpoint.port > 0)

        let health = try await get(endpoint.port, "/healthz")
        #expect(health.status == 200)

        // Nothing yet: not ready, and the body says why.
        var ready = try await get(endpoint.port, "/readyz")
        #expect(ready.status == 503)
        var body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any])
        #expect(body["ready"] as? Bool == false)
        #expect((body["reasons"] as? [String])?.contains("no partitions assigned") == true)
        #expect((body["reasons"] as? [String])?.contains("state not restored") == true)

        // Running, reachable, partitions assigned, but state not restored yet: still not ready.
        status.setRunning(true)
        status.setBrokerReachable(true)
        status.assign([0, 2])
        ready = try await get(endpoint.port, "/readyz")
        #expect(ready.status == 503)
        body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any])
        #expect(body["reasons"] as? [String] == ["state not restored"])
        #expect(body["assigned_partitions"] as? [Int] == [0, 2])

        // Restored: ready.
        status.setStateRestored(true)
        status.setLag([0: 5, 2: 0])
        ready = try await get(endpoint.port, "/readyz")
        #expect(ready.status == 200)
        body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any])
        #expect(body["ready"] as? Bool == true)
        #expect((body["lag"] as? [String: Int])?["0"] == 5)

        // Brokers down (or every partition revoked): not ready again.
        status.setBrokerReachable(false, error: "all brokers down")
        ready = try await get(endpoint.port, "/readyz")
        #expect(ready.status == 503)
        #expect(ready.body.contains("broker not reachable: all brokers down"))
        status.setBrokerReachable(true)
        status.revoke([0, 2])
        #expect(try await get(endpoint.port, "/readyz").status == 503)

        let metrics = try await get(endpoint.port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(parseExposition(metrics.body).value("weir_endpoint_test_total", ["case": "probe"]) == 7)

        #expect(try await get(endpoint.port, "/nothing").status == 404)
    }

    @Test func aBusyPortIsAClearError() async throws {
        let first = try await OperationsEndpoint.start(host: "127.0.0.1", port: 0, registry: sharedRegistry, status: RuntimeStatus(),
                                                       logger: Logger(label: "test"), timeout: Self.startTimeout)
        defer { first.task.cancel() }
        do {
            let second = try await OperationsEndpoint.start(host: "127.0.0.1", port: first.port, registry: sharedRegistry,
                                                            status: RuntimeStatus(), logger: Logger(label: "test"), timeout: Self.startTimeout)
            second.task.cancel()
            Issue.record("a second server bound the same port")
        } catch let e as OperationsEndpoint.StartError {
            #expect("\(e)".contains("127.0.0.1:\(first.port)"), "\(e)")
        }
    }
}
