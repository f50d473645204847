/// A minimal hand-written JSON writer for Weir's records.
///
/// Keys are written in call order (so record layouts are stable). A non-finite `Double` is never
/// written: it becomes `null` (records also carry a reason). Doubles use Swift's shortest
/// round-trip form (`0.1`, `1e-05`, `2.0`), which is valid JSON and parses back bit-exactly.
/// - Complexity: O(output length); not for per-event use.
public struct JSONWriter: Sendable {
    /// The text written so far.
    public private(set) var text: String = ""
    private var first: [Bool] = []

    /// - Parameter capacity: bytes to reserve (a drift record is about 1 KB).
    public init(capacity: Int = 1_024) {
        text.reserveCapacity(capacity)
        first.reserveCapacity(8)
    }

    private mutating func separator() {
        if let f = first.last {
            if !f { text += "," }
            first[first.count - 1] = false
        }
    }

    private mutating func key(_ k: String) {
        separator()
        Self.appendString(k, to: &text)
        text += ":"
    }

    /// Opens an object (as a value inside an array, or at top level).
    public mutating func beginObject() { separator(); text += "{"; first.append(true) }
    /// Opens an object as the value of `key`.
    public mutating func beginObject(_ k: String) { key(k); text += "{"; first.append(true) }
    public mutating func endObject() { text += "}"; _ = first.popLast() }
    /// Opens an array as the value of `key`.
    public mutating func beginArray(_ k: String) { key(k); text += "["; first.append(true) }
    public mutating func endArray() { text += "]"; _ = first.popLast() }

    public mutating func field(_ k: String, _ v: String?) {
        key(k)
        if let v { Self.appendString(v, to: &text) } else { text += "null" }
    }
    public mutating func field(_ k: String, _ v: Int?) { key(k); if let v { text += String(v) } else { text += "null" } }
    public mutating func field(_ k: String, _ v: Int64?) { key(k); if let v { text += String(v) } else { text += "null" } }
    public mutating func field(_ k: String, _ v: Bool?) { key(k); text += v.map { $0 ? "true" : "false" } ?? "null" }
    public mutating func field(_ k: String, _ v: Double?) { key(k); Self.appendDouble(v, to: &text) }
    public mutating func field(_ k: String, strings: [String]) {
        beginArray(k)
        for s in strings { separator(); Self.appendString(s, to: &text) }
        endArray()
    }
    public mutating func field(_ k: String, ints: [Int]) {
        beginArray(k)
        for v in ints { separator(); text += String(v) }
        endArray()
    }
    /// An array of numbers (a non-finite one is written as `null`).
    public mutating func field(_ k: String, doubles: [Double]) {
        beginArray(k)
        for v in doubles { separator(); Self.appendDouble(v, to: &text) }
        endArray()
    }
    public mutating func nullField(_ k: String) { key(k); text += "null" }

    /// Appends `v` as a JSON number, or `null` when it is nil, NaN or ±Inf.
    public static func appendDouble(_ v: Double?, to out: inout String) {
        guard let v, v.isFinite else { out += "null"; return }
        out += v == 0 ? "0.0" : v.description   // -0.0 is written as 0.0
    }

    /// Appends `s` as a JSON string (quotes, backslash and control characters escaped).
    public static func appendString(_ s: String, to out: inout String) {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {   // nothing to escape (common case)
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
