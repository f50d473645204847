/// A minimal JSON writer appending UTF-8 to a byte array (no Foundation).
///
/// Commas are inserted automatically. Strings are escaped per RFC 8259 (`"`, `\`, control
/// characters as `\u00XX`). Non-finite doubles are written as `null`. Doubles use Swift's
/// shortest round-trip form (e.g. `0.1`, `1e-05`), which is valid JSON.
/// - Complexity: O(output); appends to `bytes` (reuse one writer with `reset()` to avoid
///   reallocating); formatting a double may create a short temporary string.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    var needsComma = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Clears the output, keeping capacity.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true); needsComma = false }

    /// The output as a string.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func separate() { if needsComma { bytes.append(UInt8(ascii: ",")) } }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":` (the next value completes the member).
    public mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func value(_ s: String) { separate(); appendString(s); needsComma = true }
    public mutating func value(_ v: Int) { separate(); bytes.append(contentsOf: String(v).utf8); needsComma = true }
    public mutating func value(_ v: Int64) { value(Int(v)) }
    public mutating func value(_ v: UInt64) { separate(); bytes.append(contentsOf: String(v).utf8); needsComma = true }
    public mutating func value(_ v: Bool) { separate(); bytes.append(contentsOf: (v ? "true" : "false").utf8); needsComma = true }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8); needsComma = true }
    public mutating func value(_ v: Double) {
        guard v.isFinite else { null(); return }
        separate()
        if v == v.rounded(), abs(v) < 1e15 {
            bytes.append(contentsOf: String(Int64(v)).utf8)   // integral values without ".0"; -0 as 0
        } else {
            bytes.append(contentsOf: v.description.utf8)
        }
        needsComma = true
    }
    public mutating func value(_ s: String?) { if let s { value(s) } else { null() } }
    public mutating func value(_ v: Int?) { if let v { value(v) } else { null() } }

    mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(b >> 4)]); bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
