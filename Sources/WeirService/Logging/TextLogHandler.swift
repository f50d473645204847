import Foundation
import Logging

/// The default human-readable log handler: `2026-11-23T12:00:00.123Z info weir.run: message key=value`.
/// One line per message: newlines inside messages are written as `\n`.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let label: String
    private let output: LogOutput

    public init(label: String, level: Logger.Level = .info, output: LogOutput = .standardError,
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var all = metadata
        if let p = metadataProvider?.get() { all.merge(p) { _, new in new } }
        if let explicit { all.merge(explicit) { _, new in new } }
        var s = JSONLogHandler.timestamp() + " " + level.rawValue + " " + label + ": " + message.description
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { s += " \(k)=\(v)" }
        output.write(line: s.replacingOccurrences(of: "\n", with: "\\n"))
    }
}

/// Installs Weir's log handlers for the whole process (once; later calls are ignored by swift-log
/// in release builds and trap in debug builds, so call it exactly once, early).
public enum WeirLogging {
    public static func bootstrap(format: LogFormat, level: Logger.Level, output: LogOutput = .standardError) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text: return TextLogHandler(label: label, level: level, output: output)
            case .json: return JSONLogHandler(label: label, level: level, output: output)
            }
        }
    }
}
