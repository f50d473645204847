import Foundation
import Logging

/// JSON text helpers shared by the log handler, the stderr guard and the HTTP endpoint:
/// RFC 3339 timestamps and RFC 8259 string escaping (every line parses, whatever the text).
enum JSONText {
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
