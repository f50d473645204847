import Foundation
import Hummingbird
import HummingbirdTLS
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
        /// Served over TLS (HTTPS).
        public var tls = false
        /// `http://host:port/` or `https://…` (IPv6 hosts in brackets).
        public var url: String { "\(tls ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)/" }
    }

    /// PEM files for serving HTTPS: the certificate (chain) and its private key.
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String
        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }

        /// The server configuration. Throws ``StartError/cannotListen`` naming the file that
        /// could not be read or parsed.
        func configuration(what: String, host: String, port: Int) throws -> TLSConfiguration {
            let chain: [NIOSSLCertificate]
            let key: NIOSSLPrivateKey
            do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
                throw StartError.cannotListen(what: what, host: host, port: port, reason: "TLS certificate \(certificate): \(error)")
            }
            do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
                throw StartError.cannotListen(what: what, host: host, port: port, reason: "TLS private key \(privateKey): \(error)")
            }
            guard !chain.isEmpty else {
                throw StartError.cannotListen(what: what, host: host, port: port, reason: "TLS certificate \(certificate): no certificate in the file")
            }
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
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

    /// Serves `router` in the background (HTTPS with `tls`) and waits until it listens (at most `timeout`).
    /// - Throws: ``StartError`` when the port cannot be bound (in use, not permitted) in time, or
    ///   the TLS files cannot be read.
    public static func start(_ router: Router<BasicRequestContext>, what: String, host: String, port: Int,
                             tls: TLSFiles? = nil, logger: Logger, timeout: Duration) async throws -> Running {
        let bound = AsyncStream<Int>.makeStream()
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil)
        let app = if let tls {
            Application(
                router: router,
                server: try .tls(.http1(), tlsConfiguration: tls.configuration(what: what, host: host, port: port)),
                configuration: configuration,
                onServerRunning: { channel in
                    bound.continuation.yield(channel.localAddress?.port ?? port)
                    bound.continuation.finish()
                },
                logger: logger)
        } else {
            Application(
                router: router,
                configuration: configuration,
                onServerRunning: { channel in
                    bound.continuation.yield(channel.localAddress?.port ?? port)
                    bound.continuation.finish()
                },
                logger: logger)
        }
        let task = Task {
            defer { bound.continuation.finish() }
            try await app.run()
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            bound.continuation.finish()
        }
        defer { timer.cancel() }
        for await p in bound.stream {
            var running = Running(host: host, port: p, task: task)
            running.tls = tls != nil
            return running
        }
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
