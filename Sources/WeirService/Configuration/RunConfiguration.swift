import Logging

/// How `weir run` writes its logs.
public enum LogFormat: String, Sendable, Equatable, CaseIterable {
    /// One human-readable line per message (the default).
    case text
    /// One JSON object per line: `ts`, `level`, `label`, `message`, `metadata`.
    case json
}

/// The settings of `weir run` that may come from a config file, the environment or flags, with
/// their defaults. Resolved by ``ConfigurationResolver`` (flag > `WEIR_*` environment > file >
/// default).
///
/// Secrets (librdkafka properties such as `sasl.password`, `ssl.key.password`, `ssl.key.pem`)
/// live in ``kafkaProperties`` like every other property, but ``redactedLines(origins:)`` and
/// every error hide their values (see ``SecretProperties``).
public struct RunConfiguration: Sendable, Equatable {
    /// Bootstrap servers, `HOST:PORT[,HOST:PORT...]`. Nil: not configured (`--embedded` needs none).
    public var brokers: String?
    /// Consumer group id. Nil: `weir-<topology name>`.
    public var groupID: String?
    /// Where a new group starts: `earliest` or `latest`.
    public var from: String = "earliest"
    /// Port of the HTTP endpoint (`/metrics`, `/healthz`, `/readyz`); 0 picks a free port; nil: off.
    public var metricsPort: Int? = 9464
    /// Address the HTTP endpoint binds.
    public var metricsHost: String = "0.0.0.0"
    public var logFormat: LogFormat = .text
    public var logLevel: Logger.Level = .info
    /// librdkafka properties passed through to the consumer, producer and admin clients.
    public var kafkaProperties: [String: String] = [:]
    /// The bearer token required on the serving API (nil: none). Secret: redacted in dumps.
    public var servingToken: String?
    /// PEM files of the endpoint's TLS certificate (chain) and private key (both or neither).
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    /// The base URL other instances of a partitioned group redirect serving requests to for the
    /// keys this one owns (Kafka Streams' `application.server`). Nil: `http(s)://<host name>:<port>/`.
    public var servingURL: String?
    /// Events the run loop processes between two looks at the serving queue while requests keep
    /// arriving (1...1024; 1,024 when none arrived in the last second). Smaller: shorter waits
    /// for requests, more per-batch work for ingest (docs/serving.md, "Latency").
    public var servingBatchEvents: Int = 128

    public init() {}

    /// The Prometheus port `weir run` uses unless told otherwise (the OpenTelemetry/Prometheus
    /// exporter convention).
    public static let defaultMetricsPort = 9464

    /// `key = value  (origin)` lines for a configuration dump, with every secret value replaced by
    /// `<redacted>`.
    public func redactedLines(origins: [String: ConfigOrigin] = [:]) -> [String] {
        func line(_ key: String, _ value: String) -> String {
            "\(key) = \(value)  (\(origins[key]?.description ?? "default"))"
        }
        var out = [
            line(ConfigKey.brokers.rawValue, brokers ?? "<unset>"),
            line(ConfigKey.groupID.rawValue, groupID ?? "<topology default>"),
            line(ConfigKey.from.rawValue, from),
            line(ConfigKey.metricsPort.rawValue, metricsPort.map(String.init) ?? "off"),
            line(ConfigKey.metricsHost.rawValue, metricsHost),
            line(ConfigKey.logFormat.rawValue, logFormat.rawValue),
            line(ConfigKey.logLevel.rawValue, logLevel.rawValue),
            line(ConfigKey.servingToken.rawValue, servingToken == nil ? "<unset>" : "<redacted>"),
            line(ConfigKey.tlsCertificate.rawValue, tlsCertificate ?? "<unset>"),
            line(ConfigKey.tlsPrivateKey.rawValue, tlsPrivateKey ?? "<unset>"),
            line(ConfigKey.servingURL.rawValue, servingURL ?? "<host name and port>"),
            line(ConfigKey.servingBatchEvents.rawValue, String(servingBatchEvents)),
        ]
        for (name, value) in kafkaProperties.sorted(by: { $0.key < $1.key }) {
            out.append(line("kafka.\(name)", SecretProperties.redact(name, value)))
        }
        return out
    }
}

/// The settings a config file, `WEIR_*` variables and flags can set (besides `kafka.*`).
public enum ConfigKey: String, Sendable, CaseIterable {
    case brokers
    case groupID = "group_id"
    case from
    case metricsPort = "metrics_port"
    case metricsHost = "metrics_host"
    case logFormat = "log_format"
    case logLevel = "log_level"
    /// The bearer token the serving API (`/v1/*`) requires: a secret, best from a file
    /// (`serving_token_file`, `WEIR_SERVING_TOKEN_FILE`, `--serving-token-file`).
    case servingToken = "serving_token"
    /// PEM certificate (chain) and private key files: the HTTP endpoint serves HTTPS.
    case tlsCertificate = "tls_certificate"
    case tlsPrivateKey = "tls_private_key"
    /// The serving base URL advertised to the other instances (partitioned mode).
    case servingURL = "serving_url"
    /// The run loop's batch size while serving requests keep arriving.
    case servingBatchEvents = "serving_batch_events"

    /// The environment variable, e.g. `WEIR_METRICS_PORT`.
    public var environmentName: String { "WEIR_" + rawValue.uppercased() }
    /// The command-line flag, e.g. `--metrics-port`.
    public var flagName: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
}

/// Where a setting came from (shown in errors and configuration dumps).
public indirect enum ConfigOrigin: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    /// A config file, at a 1-based line.
    case file(path: String, line: Int)
    /// An environment variable.
    case environment(String)
    /// A command-line flag, as written (`--metrics-port`, `-X sasl.username`).
    case flag(String)
    /// The contents of a file named by another setting (`*_FILE`, `*_file`).
    case secretFile(path: String, namedBy: ConfigOrigin)

    public var description: String {
        switch self {
        case .defaultValue: return "default"
        case .file(let path, let line): return "\(path):\(line)"
        case .environment(let name): return "environment variable \(name)"
        case .flag(let name): return "flag \(name)"
        case .secretFile(let path, let by): return "file \(path) named by \(by)"
        }
    }
}

/// Which librdkafka properties hold secrets: their values are never printed.
public enum SecretProperties {
    /// True for passwords, secrets, tokens and private key material (e.g. `sasl.password`,
    /// `ssl.key.password`, `ssl.key.pem`, `ssl_key`, `sasl.oauthbearer.client.secret`).
    public static func isSecret(_ name: String) -> Bool {
        let n = name.lowercased()
        return n.contains("password") || n.contains("secret") || n.contains("token") || n.hasSuffix(".key")
            || n.contains("key.pem") || n == "ssl_key" || n.contains("oauthbearer.config") || n.contains("keystore")
            || n.contains("credential")
    }

    /// `value`, or `<redacted>` when `name` is a secret.
    public static func redact(_ name: String, _ value: String) -> String { isSecret(name) ? "<redacted>" : value }
}
