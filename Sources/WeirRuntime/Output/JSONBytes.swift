/// A small JSON object writer into a reused byte buffer (no Foundation, no per-record allocation
/// once the buffer has grown). Non-finite numbers are written as `null`: no record ever holds NaN.
public struct JSONBytes: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func begin() {
        comma()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func end() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func key(_ k: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func key(_ k: String) {
        comma()
        string(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    private mutating func comma() {
        if needsComma {
            bytes.append(UInt8(ascii: ","))
            needsComma = false
        }
    }

    public mutating func number(_ v: Double) {
        comma()
        if v.isFinite {
            if v == v.rounded(), abs(v) < 1e15 {
                bytes.append(contentsOf: String(Int64(v)).utf8)
            } else {
                bytes.append(contentsOf: v.description.utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    public mutating func number(_ v: Int64) {
        comma()
        bytes.append(contentsOf: String(v).utf8)
        needsComma = true
    }

    public mutating func bool(_ v: Bool) {
        comma()
        bytes.append(contentsOf: (v ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        comma()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A JSON string from UTF-8 bytes, escaped; invalid UTF-8 is replaced rather than copied.
    public mutating func string(bytes raw: UnsafeRawBufferPointer) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        let valid = String(validating: raw, as: UTF8.self) != nil
        if valid {
            for b in raw { escape(b) }
        } else {
            for scalar in String(decoding: raw, as: UTF8.self).utf8 { escape(scalar) }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    @inline(__always) private mutating func escape(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: bytes.append(b)
        }
    }

    public mutating func field(_ k: StaticString, _ v: Double) { key(k); number(v) }
    public mutating func field(_ k: StaticString, _ v: Int64) { key(k); number(v) }
    public mutating func field(_ k: StaticString, _ v: Int) { key(k); number(Int64(v)) }
    public mutating func field(_ k: StaticString, _ v: Bool) { key(k); bool(v) }
    public mutating func field(_ k: StaticString, _ v: String) { key(k); string(v) }
    public mutating func field(_ k: StaticString, _ v: String?) { key(k); if let v { string(v) } else { null() } }
}
