import Foundation
import Logging
import Yams

/// A resolved configuration, where each setting came from, and warnings for the operator
/// (unknown `WEIR_*` variables, secrets on the command line). Warnings never contain secrets.
public struct ResolvedConfiguration: Sendable, Equatable {
    public var configuration: RunConfiguration
    /// By key (`metrics_port`, `kafka.sasl.username`, ...): where the value came from.
    public var origins: [String: ConfigOrigin]
    public var warnings: [String]
}

/// Merges a config file (YAML), `WEIR_*` environment variables and command-line flags into a
/// ``RunConfiguration``: **flag > environment > file > default**, setting by setting.
///
/// Names, the same setting in each source:
/// - file `metrics_port: 9464`, environment `WEIR_METRICS_PORT=9464`, flag `--metrics-port 9464`
///   (likewise `brokers`, `group_id`, `from`, `metrics_host`, `log_format`, `log_level`);
/// - librdkafka properties: file `kafka: {sasl.username: weir}`, environment
///   `WEIR_KAFKA_SASL_USERNAME=weir` (after `WEIR_KAFKA_`: lower-cased, `_` → `.`), flag
///   `-X sasl.username=weir`.
///
/// Secrets come from files or the environment: any setting may instead name a file holding its
/// value — `sasl.password_file: /run/secrets/kafka` in the file's `kafka:` section,
/// `WEIR_KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka`, or `-X sasl.password_file=/run/secrets/kafka`
/// (one trailing newline is dropped). A secret given inline on the command line works but gives a
/// warning: argv is visible to every user of the machine.
///
/// Pure apart from ``readFile`` (injectable), so every rule is unit-testable.
public struct ConfigurationResolver: Sendable {
    /// Reads a secret or config file.
    public var readFile: @Sendable (String) throws -> String

    public init(readFile: @escaping @Sendable (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }) {
        self.readFile = readFile
    }

    /// The environment variable naming the config file (the `--config` flag overrides it).
    public static let configFileVariable = "WEIR_CONFIG"

    /// Resolves the configuration.
    /// - Parameters:
    ///   - configFile: the `--config` flag's path, if given (else `WEIR_CONFIG`, else no file).
    ///   - environment: the process environment (only `WEIR_*` variables are read).
    ///   - flags: settings given as flags (only those actually given).
    ///   - properties: `-X name=value` arguments, in order.
    ///   - fileFlags: settings given as `--<setting>-file PATH` flags (the file holds the value).
    /// - Throws: ``ConfigurationError`` naming the setting, its source and the bad value.
    public func resolve(configFile: String? = nil, environment: [String: String], flags: [ConfigKey: String] = [:],
                        properties: [String] = [], fileFlags: [ConfigKey: String] = [:]) throws(ConfigurationError) -> ResolvedConfiguration {
        var settings: [String: (value: String, origin: ConfigOrigin)] = [:]
        var warnings: [String] = []
        let filePath = configFile ?? environment[Self.configFileVariable]
        if let filePath {
            let by: ConfigOrigin = configFile != nil ? .flag("--config") : .environment(Self.configFileVariable)
            let text: String
            do { text = try readFile(filePath) } catch {
                throw .unreadableFile(path: filePath, reason: Self.reason(error), namedBy: by)
            }
            for (key, entry) in try fileSettings(path: filePath, text: text) { settings[key] = entry }
        }
        for (key, entry) in try environmentSettings(environment, warnings: &warnings) { settings[key] = entry }
        for (key, value) in flags.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            settings[key.rawValue] = (value, .flag(key.flagName))
        }
        for (key, path) in fileFlags.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let origin = ConfigOrigin.flag(key.flagName + "-file")
            settings[key.rawValue] = (try read(path, namedBy: origin), .secretFile(path: path, namedBy: origin))
        }
        for argument in properties {
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let origin = ConfigOrigin.flag("-X \(parts.first ?? "")")
            guard parts.count == 2, !parts[0].isEmpty else { throw .malformedProperty(argument: argument, origin: .flag("-X")) }
            let name = String(parts[0])
            if let target = Self.fileIndirection(name) {
                settings["kafka." + target] = (try read(String(parts[1]), namedBy: origin), .secretFile(path: String(parts[1]), namedBy: origin))
            } else {
                if SecretProperties.isSecret(name) {
                    warnings.append("-X \(name) puts a secret on the command line, where every user of the machine can read it; "
                                    + "prefer \(Self.environmentName(ofProperty: name)) or -X \(name)_file=PATH")
                }
                settings["kafka." + name] = (String(parts[1]), origin)
            }
        }
        return try build(settings, warnings: warnings)
    }

    /// The `WEIR_KAFKA_*` variable for a librdkafka property (`sasl.password` → `WEIR_KAFKA_SASL_PASSWORD`).
    public static func environmentName(ofProperty name: String) -> String {
        "WEIR_KAFKA_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    // MARK: sources

    private func fileSettings(path: String, text: String) throws(ConfigurationError) -> [String: (value: String, origin: ConfigOrigin)] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            // Yams' own description quotes the offending line, which may hold a secret: say where only.
            if let e = error as? YamlError {
                switch e {
                case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                    throw .invalidFile(path: path, line: mark.line, reason: "not valid YAML: \(problem) (column \(mark.column))")
                default: break
                }
            }
            throw .invalidFile(path: path, line: 0, reason: "not valid YAML")
        }
        guard let root else { return [:] }  // an empty file
        guard let mapping = root.mapping else {
            throw .invalidFile(path: path, line: root.mark?.line ?? 0, reason: "expected a mapping of settings (key: value)")
        }
        var out: [String: (value: String, origin: ConfigOrigin)] = [:]
        let known = ConfigKey.allCases.map(\.rawValue) + ["kafka"]
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let line = keyNode.mark?.line ?? 0
            let origin = ConfigOrigin.file(path: path, line: line)
            if key == "kafka" {
                guard let props = valueNode.mapping else {
                    throw .invalidFile(path: path, line: line, reason: "kafka: expected a mapping of librdkafka properties")
                }
                for (nameNode, propNode) in props {
                    let name = nameNode.string ?? ""
                    let pOrigin = ConfigOrigin.file(path: path, line: nameNode.mark?.line ?? line)
                    guard let value = propNode.scalar?.string else {
                        throw .invalidFile(path: path, line: nameNode.mark?.line ?? line, reason: "kafka.\(name): expected a single value")
                    }
                    if let target = Self.fileIndirection(name) {
                        out["kafka." + target] = (try read(value, namedBy: pOrigin), .secretFile(path: value, namedBy: pOrigin))
                    } else {
                        out["kafka." + name] = (value, pOrigin)
                    }
                }
                continue
            }
            let target = Self.fileIndirection(key) ?? key
            guard ConfigKey(rawValue: target) != nil else { throw .unknownKey(key: key, origin: origin, known: known) }
            guard let value = valueNode.scalar?.string else {
                throw .invalidFile(path: path, line: line, reason: "\(key): expected a single value")
            }
            if target != key {
                out[target] = (try read(value, namedBy: origin), .secretFile(path: value, namedBy: origin))
            } else {
                out[key] = (value, origin)
            }
        }
        return out
    }

    private func environmentSettings(_ environment: [String: String],
                                     warnings: inout [String]) throws(ConfigurationError) -> [String: (value: String, origin: ConfigOrigin)] {
        var out: [String: (value: String, origin: ConfigOrigin)] = [:]
        // Plain variables first, then *_FILE ones, so a file wins over an inline value deterministically.
        let names = environment.keys.filter { $0.hasPrefix("WEIR_") && $0 != Self.configFileVariable }
            .sorted { ($0.hasSuffix("_FILE") ? 1 : 0, $0) < ($1.hasSuffix("_FILE") ? 1 : 0, $1) }
        for variable in names {
            let value = environment[variable]!
            var name = String(variable.dropFirst("WEIR_".count))
            let isFile = name.hasSuffix("_FILE")
            if isFile { name.removeLast("_FILE".count) }
            let key: String
            if name.hasPrefix("KAFKA_") && name.count > "KAFKA_".count {
                key = "kafka." + name.dropFirst("KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            } else if let k = ConfigKey.allCases.first(where: { $0.environmentName == "WEIR_" + name }) {
                key = k.rawValue
            } else {
                if !Self.otherVariablePrefixes.contains(where: { variable.hasPrefix($0) }) {
                    warnings.append("ignoring unknown environment variable \(variable)")
                }
                continue
            }
            let origin = ConfigOrigin.environment(variable)
            if isFile {
                out[key] = (try read(value, namedBy: origin), .secretFile(path: value, namedBy: origin))
            } else {
                out[key] = (value, origin)
            }
        }
        return out
    }

    /// `WEIR_*` variables that belong to the benchmarks and tools, not to `weir run`.
    static let otherVariablePrefixes = ["WEIR_BENCH", "WEIR_REPO", "WEIR_PYTHON", "WEIR_ROOT"]

    /// `x_file` names a file holding `x`.
    private static func fileIndirection(_ name: String) -> String? {
        name.hasSuffix("_file") && name.count > "_file".count ? String(name.dropLast("_file".count)) : nil
    }

    private func read(_ path: String, namedBy origin: ConfigOrigin) throws(ConfigurationError) -> String {
        do {
            var s = try readFile(path)
            if s.hasSuffix("\r\n") { s.removeLast(2) } else if s.hasSuffix("\n") { s.removeLast() }
            return s
        } catch {
            throw .unreadableFile(path: path, reason: Self.reason(error), namedBy: origin)
        }
    }

    private static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain, let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError {
            return String(cString: strerror(Int32(u.code)))
        }
        return ns.localizedDescription
    }

    // MARK: values

    private func build(_ settings: [String: (value: String, origin: ConfigOrigin)],
                       warnings: [String]) throws(ConfigurationError) -> ResolvedConfiguration {
        var c = RunConfiguration()
        var origins: [String: ConfigOrigin] = [:]
        for (key, entry) in settings { origins[key] = entry.origin }
        func bad(_ key: ConfigKey, _ expected: String) -> ConfigurationError {
            .invalidValue(key: key.rawValue, value: settings[key.rawValue]!.value, origin: settings[key.rawValue]!.origin, expected: expected)
        }
        if let v = settings[ConfigKey.brokers.rawValue]?.value {
            guard Self.validBrokers(v) else { throw bad(.brokers, "HOST:PORT[,HOST:PORT...]") }
            c.brokers = v
        }
        if let v = settings[ConfigKey.groupID.rawValue]?.value {
            guard !v.trimmingCharacters(in: .whitespaces).isEmpty else { throw bad(.groupID, "a non-empty group id") }
            c.groupID = v
        }
        if let v = settings[ConfigKey.from.rawValue]?.value {
            guard v == "earliest" || v == "latest" else { throw bad(.from, "earliest or latest") }
            c.from = v
        }
        if let v = settings[ConfigKey.metricsPort.rawValue]?.value {
            if ["off", "none", "false", "disabled"].contains(v.lowercased()) {
                c.metricsPort = nil
            } else if let p = Int(v), (0...65_535).contains(p) {
                c.metricsPort = p
            } else {
                throw bad(.metricsPort, "a port number 0-65535 (0: any free port) or off")
            }
        }
        if let v = settings[ConfigKey.servingURL.rawValue]?.value {
            guard let u = URL(string: v), ["http", "https"].contains(u.scheme ?? ""), u.host != nil, u.query == nil else {
                throw bad(.servingURL, "an http:// or https:// base URL this instance is reached at, e.g. http://10.0.0.7:9464/")
            }
            c.servingURL = v.hasSuffix("/") ? v : v + "/"
        }
        if let v = settings[ConfigKey.servingBatchEvents.rawValue]?.value {
            guard let n = Int(v), (1...1024).contains(n) else { throw bad(.servingBatchEvents, "a number of events 1-1024") }
            c.servingBatchEvents = n
        }
        if let v = settings[ConfigKey.metricsHost.rawValue]?.value {
            guard !v.isEmpty, !v.contains(" ") else { throw bad(.metricsHost, "an address to bind, e.g. 0.0.0.0 or 127.0.0.1") }
            c.metricsHost = v
        }
        if let v = settings[ConfigKey.logFormat.rawValue]?.value {
            guard let f = LogFormat(rawValue: v.lowercased()) else { throw bad(.logFormat, "text or json") }
            c.logFormat = f
        }
        if let v = settings[ConfigKey.logLevel.rawValue]?.value {
            guard let l = Logger.Level(rawValue: v.lowercased()) else {
                throw bad(.logLevel, "one of trace, debug, info, notice, warning, error, critical")
            }
            c.logLevel = l
        }
        if let v = settings[ConfigKey.servingToken.rawValue]?.value {
            // Never echo the value (not even in the error).
            guard !v.isEmpty, v.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
                throw .invalidValue(key: ConfigKey.servingToken.rawValue, value: "<redacted>",
                                    origin: settings[ConfigKey.servingToken.rawValue]!.origin, expected: "a non-empty token of printable ASCII without spaces")
            }
            c.servingToken = v
        }
        c.tlsCertificate = settings[ConfigKey.tlsCertificate.rawValue]?.value
        c.tlsPrivateKey = settings[ConfigKey.tlsPrivateKey.rawValue]?.value
        if (c.tlsCertificate == nil) != (c.tlsPrivateKey == nil) {
            let given: ConfigKey = c.tlsCertificate != nil ? .tlsCertificate : .tlsPrivateKey
            throw bad(given, "tls_certificate and tls_private_key together (both PEM files)")
        }
        for (key, entry) in settings where key.hasPrefix("kafka.") {
            let name = String(key.dropFirst("kafka.".count))
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "=" }) else {
                throw .invalidValue(key: key, value: entry.value, origin: entry.origin, expected: "a librdkafka property name")
            }
            c.kafkaProperties[name] = entry.value
        }
        return ResolvedConfiguration(configuration: c, origins: origins, warnings: warnings)
    }

    static func validBrokers(_ list: String) -> Bool {
        let parts = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return !parts.isEmpty && parts.allSatisfy { entry in
            var hostPort = Substring(entry)
            if let r = entry.range(of: "://") { hostPort = entry[r.upperBound...] }
            guard let colon = hostPort.lastIndex(of: ":") else { return false }
            let host = hostPort[..<colon]
            guard let port = Int(hostPort[hostPort.index(after: colon)...]) else { return false }
            return !host.isEmpty && (1...65_535).contains(port)
        }
    }
}
