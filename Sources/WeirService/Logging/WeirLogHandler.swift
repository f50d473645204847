import Foundation
import Logging
import WeirJSON

/// Weir's swift-log handler: one line per message, in either format.
///
/// - `.text` (default, for people): `2026-11-23T12:00:00.123Z info weir.run: message key=value`;
///   newlines inside messages are written as `\n`.
/// - `.json` (for machines): one object per line,
///   `{"ts":"2026-11-23T12:00:00.123Z","level":"info","label":"weir.run","message":"...","metadata":{...}}`;
///   metadata values are strings, arrays or objects as swift-log gives them (`stringConvertible`
///   values as their description), escaped per RFC 8259 so every line parses.
/// The handler never adds anything that is not in the log call.
public struct WeirLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let label: String
    public let format: LogFormat
    private let output: LogOutput

    public init(label: String, format: LogFormat = .text, level: Logger.Level = .info, output: LogOutput = .standardError,
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.format = format
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
        switch format {
        case .json:
            var w = JSONWriter()
            w.beginObject()
            w.field("ts", LogTimestamp.now())
            w.field("level", level.rawValue)
            w.field("label", label)
            w.field("message", message.description)
            if !all.isEmpty {
                w.key("metadata")
                Self.write(all, into: &w)
            }
            w.endObject()
            let s = w.string
            output.write(line: s)
        case .text:
            var s = LogTimestamp.now() + " " + level.rawValue + " " + label + ": " + message.description
            for (k, v) in all.sorted(by: { $0.key < $1.key }) { s += " \(k)=\(v)" }
            output.write(line: s.replacingOccurrences(of: "\n", with: "\\n"))
        }
    }

    /// Metadata as a JSON object, keys sorted; `stringConvertible` values as their description.
    static func write(_ m: Logger.Metadata, into w: inout JSONWriter) {
        w.beginObject()
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
            w.key(k)
            write(v, into: &w)
        }
        w.endObject()
    }

    static func write(_ v: Logger.Metadata.Value, into w: inout JSONWriter) {
        switch v {
        case .string(let x): w.value(x)
        case .stringConvertible(let x): w.value(x.description)
        case .array(let xs):
            w.beginArray()
            for x in xs { write(x, into: &w) }
            w.endArray()
        case .dictionary(let m): write(m, into: &w)
        }
    }
}

/// Installs Weir's log handlers for the whole process (once; later calls are ignored by swift-log
/// in release builds and trap in debug builds, so call it exactly once, early).
public enum WeirLogging {
    public static func bootstrap(format: LogFormat, level: Logger.Level, output: LogOutput = .standardError) {
        LoggingSystem.bootstrap { label in WeirLogHandler(label: label, format: format, level: level, output: output) }
    }
}
