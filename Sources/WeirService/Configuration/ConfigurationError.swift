/// Why a configuration could not be resolved. Every case names the setting, where it came from
/// and (unless it is a secret) the offending value.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A value that does not parse; `expected` says what would.
    case invalidValue(key: String, value: String, origin: ConfigOrigin, expected: String)
    /// A key the config file does not know (a typo, usually).
    case unknownKey(key: String, origin: ConfigOrigin, known: [String])
    /// The config file or a secret file could not be read.
    case unreadableFile(path: String, reason: String, namedBy: ConfigOrigin)
    /// The config file is not valid YAML or not shaped as expected (`line` is 1-based, 0 unknown).
    case invalidFile(path: String, line: Int, reason: String)
    /// A flag that needs `name=value`.
    case malformedProperty(argument: String, origin: ConfigOrigin)

    public var description: String {
        switch self {
        case let .invalidValue(key, value, origin, expected):
            let shown = SecretProperties.isSecret(key) ? "<redacted>" : "'\(value)'"
            return "invalid \(key) \(shown) from \(origin): expected \(expected)"
        case let .unknownKey(key, origin, known):
            return "unknown setting '\(key)' in \(origin); known: \(known.joined(separator: ", "))"
        case let .unreadableFile(path, reason, by):
            return "cannot read \(path) (named by \(by)): \(reason)"
        case let .invalidFile(path, line, reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case let .malformedProperty(argument, origin):
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            return "\(origin): expected name=value, got '\(SecretProperties.isSecret(name) ? "<redacted>" : argument)'"
        }
    }
}
