import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import WeirJSON
import WeirRuntime

/// The HTTP endpoint of a running `weir run`: `/metrics` (Prometheus text format 0.0.4),
/// `/healthz` (the process is alive and its HTTP loop answers) and `/readyz` (200 only when
/// partitions are assigned, state is restored and the brokers are reachable; 503 with a JSON
/// reason otherwise), for Kubernetes probes and Prometheus scrapes.
///
/// The endpoint runs on SwiftNIO event loops, apart from the runner thread: a scrape reads the
/// registry (lock-protected by swift-prometheus) and ``RuntimeStatus`` (one lock), never the
/// pipeline.
public enum OperationsEndpoint {
    /// Content type of the Prometheus text exposition format.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The routes, without a server (for tests and embedding); with `serving`, also the serving
    /// API (``ServingRoutes``).
    public static func router(registry: PrometheusCollectorRegistry, status: RuntimeStatus,
                              serving: ServingRoutes.Setup? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        if let serving { ServingRoutes.add(to: router, serving) }
        router.get("metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: metricsContentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("healthz") { _, _ -> Response in
            json(.ok, #"{"status":"alive"}"#)
        }
        router.get("readyz") { _, _ -> Response in
            let s = status.snapshot
            return json(s.isReady ? .ok : .serviceUnavailable, readinessJSON(s))
        }
        return router
    }

    /// The `/readyz` body: `{"ready":bool,"reasons":[...],"assigned_partitions":[...],
    /// "state_restored":bool,"broker_reachable":bool,"state_memory":"…","lag":{"partition":n}}`
    /// (`state_memory` only when the topology sets `state.memory_limit`).
    public static func readinessJSON(_ s: RuntimeStatus.Snapshot) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("ready", s.isReady)
        w.field("reasons", strings: s.notReadyReasons)
        w.field("assigned_partitions", ints: s.assignedPartitions.map { Int($0) })
        w.field("state_restored", s.stateRestored)
        w.field("broker_reachable", s.brokerReachable)
        if let m = s.stateMemory { w.field("state_memory", m) }
        w.beginObject("lag")
        for (partition, lag) in s.lag.sorted(by: { $0.key < $1.key }) { w.field(String(partition), lag) }
        w.endObject()
        w.endObject()
        return w.string
    }

    private static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A registry and the swift-metrics factory writing to it, with bucket boundaries suited to
    /// Weir's per-batch histograms. Bootstrap `MetricsSystem` with `factory` once per process.
    public static func makeFactory(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        // One batch is up to ~1k events: tens of microseconds to a few seconds.
        factory.durationHistogramBuckets["weir_batch_duration_seconds"] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets["weir_batch_events"] = [1, 8, 64, 256, 512, 1024, 4096]
        return factory
    }

    /// A started endpoint: where it listens, and the task serving it (cancel to stop).
    public typealias Running = HTTPServer.Running
    public typealias StartError = HTTPServer.StartError

    /// Starts serving on `host:port` (0: any free port) in the background and waits until it
    /// listens (at most `timeout`).
    /// - Throws: ``StartError`` when the port cannot be bound (in use, not permitted) in time.
    public static func start(host: String, port: Int, registry: PrometheusCollectorRegistry, status: RuntimeStatus,
                             serving: ServingRoutes.Setup? = nil, tls: HTTPServer.TLSFiles? = nil, logger: Logger,
                             timeout: Duration = .seconds(10)) async throws -> Running {
        try await HTTPServer.start(router(registry: registry, status: status, serving: serving), what: "metrics and probes",
                                   host: host, port: port, tls: tls, logger: logger, timeout: timeout)
    }
}

extension OperationsEndpoint {
    /// ``start(host:port:registry:status:logger:timeout:)`` for synchronous callers (`weir run`'s
    /// blocking runner): blocks this thread until the endpoint listens. Never call it from a task.
    public static func startBlocking(host: String, port: Int, registry: PrometheusCollectorRegistry, status: RuntimeStatus,
                                     serving: ServingRoutes.Setup? = nil, tls: HTTPServer.TLSFiles? = nil, logger: Logger) throws -> Running {
        try HTTPServer.blocking {
            try await start(host: host, port: port, registry: registry, status: status, serving: serving, tls: tls, logger: logger)
        }
    }
}

extension OperationsEndpoint {
    /// Creates the Prometheus registry and makes it the process's swift-metrics backend
    /// (`MetricsSystem.bootstrap`, once per process).
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(makeFactory(registry: registry))
        return registry
    }
}
