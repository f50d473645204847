import ArgumentParser
import Foundation
import Logging
import WeirRuntime
import WeirService
import WeirTopology

/// `weir run`'s operational options: configuration file, metrics/probe endpoint, logs.
/// Every option here (and --brokers, --group-id, --from, -X) may also come from `WEIR_*`
/// environment variables or the config file; flags win over the environment, which wins over the
/// file (see docs/deploying.md).
struct OperationsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A YAML config file (keys as in docs/deploying.md). Also WEIR_CONFIG.", valueName: "file"))
    var config: String?
    @Option(help: ArgumentHelp("Port of the HTTP endpoint serving /metrics (Prometheus), /healthz and /readyz: a number (0: any free port) or off. Default 9464. Also WEIR_METRICS_PORT.", valueName: "port|off"))
    var metricsPort: String?
    @Option(help: ArgumentHelp("Address the HTTP endpoint binds (default 0.0.0.0). Also WEIR_METRICS_HOST.", valueName: "address"))
    var metricsHost: String?
    @Option(help: ArgumentHelp("Log format: text (default) or json (one object per line). Also WEIR_LOG_FORMAT.", valueName: "text|json"))
    var logFormat: String?
    @Option(help: ArgumentHelp("Log level: trace, debug, info (default), notice, warning, error, critical. Also WEIR_LOG_LEVEL.", valueName: "level"))
    var logLevel: String?
    @Option(help: ArgumentHelp("A file holding the bearer token required on the serving API (/v1/features, /v1/score; docs/serving.md). Also WEIR_SERVING_TOKEN_FILE, or serving_token_file: in the config file.", valueName: "file"))
    var servingTokenFile: String?
    @Option(help: ArgumentHelp("PEM certificate (chain) file: the HTTP endpoint serves HTTPS (with --tls-private-key). Also WEIR_TLS_CERTIFICATE.", valueName: "file"))
    var tlsCertificate: String?
    @Option(help: ArgumentHelp("PEM private key file of --tls-certificate. Also WEIR_TLS_PRIVATE_KEY.", valueName: "file"))
    var tlsPrivateKey: String?
    @Option(help: ArgumentHelp("With --partitioned: the base URL the other instances redirect serving requests to for the keys this one owns (default http(s)://<host name>:<port>/; in Kubernetes the pod IP). Also WEIR_SERVING_URL.", valueName: "url"))
    var servingURL: String?
    @Option(help: ArgumentHelp("Events processed between two looks at the serving queue while requests keep arriving (1-1024, default 128; 1,024 when none arrived in the last second): smaller answers sooner, larger ingests faster. Also WEIR_SERVING_BATCH_EVENTS.", valueName: "n"))
    var servingBatchEvents: String?
    @Flag(help: "Print the resolved configuration (secrets redacted) and where each setting came from, then exit.")
    var printConfig = false
}

/// What `weir run` sets up before running: configuration, logging, the HTTP endpoint.
struct Operations {
    let configuration: RunConfiguration
    let logger: Logger
    let status = RuntimeStatus()
    /// [serving] The serving API's queue to the run loop (its routes are on the endpoint).
    let serving: ServingMailbox
    /// Nil when the endpoint is off (`--metrics-port off`) or not started: no metrics are recorded either.
    private(set) var endpoint: OperationsEndpoint.Running?
    /// The metrics port was configured (flag, environment or file), not the default.
    private let metricsPortExplicit: Bool

    /// Resolves flags > WEIR_* environment > config file and bootstraps logging (standard error
    /// through a ``StderrGuard`` in JSON mode or when secrets are configured, so librdkafka's own
    /// lines are JSON too and no secret value is ever printed). Prints the configuration and exits
    /// with `--print-config`.
    /// Configuration errors exit 2 with the setting, its source and the bad value (never a secret).
    init(_ o: OperationsOptions, brokers: String?, groupID: String?, from: String?, properties: [String]) throws {
        var flags: [ConfigKey: String] = [:]
        flags[.brokers] = brokers
        flags[.groupID] = groupID
        flags[.from] = from
        flags[.metricsPort] = o.metricsPort
        flags[.metricsHost] = o.metricsHost
        flags[.logFormat] = o.logFormat
        flags[.logLevel] = o.logLevel
        flags[.tlsCertificate] = o.tlsCertificate
        flags[.tlsPrivateKey] = o.tlsPrivateKey
        flags[.servingURL] = o.servingURL
        flags[.servingBatchEvents] = o.servingBatchEvents
        var fileFlags: [ConfigKey: String] = [:]
        fileFlags[.servingToken] = o.servingTokenFile
        let resolved: ResolvedConfiguration
        do {
            resolved = try ConfigurationResolver().resolve(configFile: o.config, environment: ProcessInfo.processInfo.environment,
                                                           flags: flags, properties: properties, fileFlags: fileFlags)
        } catch {
            FileHandle.standardError.write(Data("weir run: \(error)\n".utf8))
            throw ExitCode(2)
        }
        configuration = resolved.configuration
        serving = ServingMailbox(busyBatchEvents: configuration.servingBatchEvents)
        metricsPortExplicit = resolved.origins[ConfigKey.metricsPort.rawValue] != nil
        let secrets = configuration.kafkaProperties.filter { SecretProperties.isSecret($0.key) }.map(\.value)
            + (configuration.servingToken.map { [$0] } ?? [])
        var output = LogOutput.standardError
        if !o.printConfig && (configuration.logFormat == .json || !secrets.isEmpty),
           let guarded = StderrGuard.install(format: configuration.logFormat, secrets: secrets) {
            output = guarded.output
        }
        WeirLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel, output: output)
        var logger = Logger(label: "weir.run")
        logger.logLevel = configuration.logLevel
        self.logger = logger
        for w in resolved.warnings { logger.warning("\(w)") }
        if o.printConfig {
            for line in configuration.redactedLines(origins: resolved.origins) { print(line) }
            throw ExitCode.success
        }
    }

    /// Starts metrics and the HTTP endpoint unless `metrics_port` is off. A port that cannot be
    /// bound is fatal when it was configured; the default port (9464) being taken only gives a
    /// warning (e.g. several instances or tests on one machine) and the run goes on without it.
    mutating func startEndpoint() throws {
        if let port = configuration.metricsPort {
            let registry = OperationsEndpoint.bootstrapMetrics()
            var httpLogger = Logger(label: "weir.http")
            httpLogger.logLevel = max(configuration.logLevel, .warning)
            do {
                let tls = configuration.tlsCertificate.map { HTTPServer.TLSFiles(certificate: $0, privateKey: configuration.tlsPrivateKey!) }
                let e = try OperationsEndpoint.startBlocking(host: configuration.metricsHost, port: port, registry: registry, status: status,
                                                             serving: ServingRoutes.Setup(mailbox: serving, token: configuration.servingToken),
                                                             tls: tls, logger: httpLogger)
                logger.info("serving /metrics, /healthz, /readyz, /v1/features/{key} and /v1/score",
                            metadata: ["address": "\(e.tls ? "https" : "http")://\(e.host):\(e.port)", "port": "\(e.port)",
                                       "serving_auth": "\(configuration.servingToken == nil ? "none" : "bearer token")"])
                endpoint = e
                serving.advertisedURL = configuration.servingURL ?? "\(e.tls ? "https" : "http")://\(CheckpointCoordinator.hostName()):\(e.port)/"
            } catch where !metricsPortExplicit {
                logger.warning("\(error); running without metrics and probes (set --metrics-port to choose a port, or off)")
            } catch {
                logger.error("\(error)")
                throw ExitCode(1)
            }
        }
    }

    /// The runtime metrics for a topology, when the endpoint is on.
    func metrics(for compiled: CompiledTopology) -> RuntimeMetrics? {
        endpoint == nil ? nil : RuntimeMetrics(compiled: compiled, sourceTopic: compiled.spec.source.topics.first ?? "")
    }

    /// A progress or summary line: as is on stderr in text mode (scripts read these), as an
    /// `info` log record in JSON mode (so every line of stderr is JSON).
    func report(_ line: String) {
        if configuration.logFormat == .json {
            logger.info("\(line.hasPrefix("weir run: ") ? String(line.dropFirst("weir run: ".count)) : line)")
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Loads the topology, logging every problem (as JSON records in JSON mode) and exiting 1 on error.
    func loadTopology(_ path: String) throws -> CompiledTopology {
        guard configuration.logFormat == .json else { return try WeirCLI.loadTopology(path) }
        do {
            return try TopologyCompiler.compile(try TopologyLoader.load(path: path))
        } catch {
            logger.error("invalid topology", metadata: ["file": "\(path)", "problems": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// Runs `body`; in JSON mode an error is logged as a JSON record before exiting 1.
    func logErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ExitCode { throw e } catch {
            if configuration.logFormat == .json {
                logger.error("weir run failed", metadata: ["error": "\(error)"])
                throw ExitCode(1)
            }
            throw error
        }
    }
}
