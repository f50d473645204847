import Foundation
import Logging

/// A swift-log handler writing one JSON object per line:
/// `{"ts":"2026-11-23T12:00:00.123Z","level":"info","label":"weir.run","message":"...","metadata":{...}}`.
///
/// Metadata values are strings, arrays or objects as swift-log gives them (`stringConvertible`
/// values as their description). Messages and metadata are escaped per RFC 8259, so every line
/// parses whatever the text. The handler never adds anything that is not in the log call.
public struct JSONLogHandler: LogHandler {
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
        var s = "{\"ts\":\"" + Self.timestamp() + "\",\"level\":\"" + level.rawValue + "\",\"label\":"
        Self.appendString(label, to: &s)
        s += ",\"message\":"
        Self.appendString(message.description, to: &s)
        if !all.isEmpty {
            s += ",\"metadata\":"
            Self.appendObject(all, to: &s)
        }
        s += "}"
        output.write(line: s)
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ date: Date = Date()) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(999, max(0, ms)))
    }

    static func appendObject(_ m: Logger.Metadata, to s: inout String) {
        s += "{"
        for (i, (k, v)) in m.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { s += "," }
            appendString(k, to: &s)
            s += ":"
            appendValue(v, to: &s)
        }
        s += "}"
    }

    static func appendValue(_ v: Logger.Metadata.Value, to s: inout String) {
        switch v {
        case .string(let x): appendString(x, to: &s)
        case .stringConvertible(let x): appendString(x.description, to: &s)
        case .array(let xs):
            s += "["
            for (i, x) in xs.enumerated() {
                if i > 0 { s += "," }
                appendValue(x, to: &s)
            }
            s += "]"
        case .dictionary(let m): appendObject(m, to: &s)
        }
    }

    /// Appends `x` as a JSON string literal.
    static func appendString(_ x: String, to s: inout String) {
        s += "\""
        for u in x.unicodeScalars {
            switch u {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            case _ where u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029:
                s += String(format: "\\u%04x", u.value)
            default: s.unicodeScalars.append(u)
            }
        }
        s += "\""
    }
}
