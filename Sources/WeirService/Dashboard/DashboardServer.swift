import Foundation
import Hummingbird
import Logging

/// The dashboard's HTTP side (read-only, GET only): `/` the page, `/dashboard.js` and
/// `/dashboard.css` its assets (served from ``DashboardPage``; the page loads nothing else),
/// `/api/state[?since=VERSION&after=SEQUENCE]` the JSON state (whole, or what changed), `/api/histogram?feature=F&window=N` one window's histograms,
/// `/healthz`.
public enum DashboardServer {
    /// The routes, without a server (for tests and embedding).
    public static func router(store: DashboardStore) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in asset(DashboardPage.html, "text/html; charset=utf-8") }
        router.get("dashboard.js") { _, _ in asset(DashboardPage.script, "text/javascript; charset=utf-8") }
        router.get("dashboard.css") { _, _ in asset(DashboardPage.style, "text/css; charset=utf-8") }
        router.get("healthz") { _, _ in json(.ok, Data(#"{"status":"alive"}"#.utf8)) }
        router.get("api/state") { request, _ in
            let q = request.uri.queryParameters
            let since = q.get("since").flatMap { Int(String($0)) }, after = q.get("after").flatMap { Int(String($0)) }
            return json(.ok, store.stateJSON(since: since, after: after))
        }
        router.get("api/histogram") { request, _ in
            let q = request.uri.queryParameters
            guard let feature = q.get("feature").map({ String($0) }), let window = q.get("window").flatMap({ Int(String($0)) }) else {
                return json(.badRequest, DashboardStore.errorJSON("feature and window are required"))
            }
            guard let body = store.histogramJSON(feature: feature, window: window) else {
                return json(.notFound, DashboardStore.errorJSON("no such window in the history", feature: feature, window: window))
            }
            return json(.ok, body)
        }
        return router
    }

    private static func asset(_ text: String, _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache",
                                        .init("Content-Security-Policy")!: DashboardPage.contentSecurityPolicy],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func json(_ status: HTTPResponse.Status, _ body: Data) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A started dashboard server: where it listens (``HTTPServer/Running/url``), and the task
    /// serving it (cancel to stop).
    public typealias Running = HTTPServer.Running
    public typealias StartError = HTTPServer.StartError

    /// Starts serving on `host:port` (0: any free port) and waits until it listens.
    /// - Throws: ``StartError`` when the port cannot be bound in time.
    public static func start(store: DashboardStore, host: String, port: Int, logger: Logger,
                             timeout: Duration = .seconds(10)) async throws -> Running {
        try await HTTPServer.start(router(store: store), what: "the dashboard", host: host, port: port, logger: logger, timeout: timeout)
    }
}

extension DashboardServer {
    /// ``start(store:host:port:logger:timeout:)`` for synchronous callers (`weir demo`): blocks
    /// this thread until the server listens. Never call it from a task.
    public static func startBlocking(store: DashboardStore, host: String, port: Int, logger: Logger) throws -> Running {
        try HTTPServer.blocking { try await start(store: store, host: host, port: port, logger: logger) }
    }
}
