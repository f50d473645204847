import Foundation
import Hummingbird
import Logging

/// Starting a router as a background HTTP server, shared by the operations endpoint and the
/// dashboard: serve on `host:port` (0: any free port), wait until it listens, report the port
/// actually bound, or a clear error when it cannot bind in time.
public enum HTTPServer {
    /// A started server: where it listens, and the task serving it (cancel to stop).
    public struct Running: Sendable {
        public let host: String
        public let port: Int
        public let task: Task<Void, any Error>
        /// `http://host:port/` (IPv6 hosts in brackets).
        public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/" }
    }

    /// Why a server did not start; `what` names it ("metrics and probes", "the dashboard").
    public enum StartError: Error, Equatable, CustomStringConvertible {
        case cannotListen(what: String, host: String, port: Int, reason: String)
        public var description: String {
            switch self {
            case let .cannotListen(w, h, p, r): return "cannot serve \(w) on \(h):\(p): \(r)"
            }
        }
    }

    /// Serves `router` in the background and waits until it listens (at most `timeout`).
    /// - Throws: ``StartError`` when the port cannot be bound (in use, not permitted) in time.
    public static func start(_ router: Router<BasicRequestContext>, what: String, host: String, port: Int,
                             logger: Logger, timeout: Duration) async throws -> Running {
        let bound = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? port)
                bound.continuation.finish()
            },
            logger: logger)
        let task = Task {
            defer { bound.continuation.finish() }
            try await app.run()
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            bound.continuation.finish()
        }
        defer { timer.cancel() }
        for await p in bound.stream { return Running(host: host, port: p, task: task) }
        task.cancel()
        if case .failure(let e) = await task.result {
            throw StartError.cannotListen(what: what, host: host, port: port, reason: "\(e)")
        }
        throw StartError.cannotListen(what: what, host: host, port: port, reason: "not listening after \(timeout)")
    }

    /// Runs `start` on the concurrency pool and blocks this thread until it returns, for
    /// synchronous callers (`weir run`'s runner, `weir demo`). Never call it from a task.
    public static func blocking(_ start: @escaping @Sendable () async throws -> Running) throws -> Running {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.set(.success(try await start())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get()
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<Running, any Error>?
        func set(_ r: Result<Running, any Error>) { lock.withLock { result = r } }
        func get() throws -> Running { try lock.withLock { result! }.get() }
    }
}
