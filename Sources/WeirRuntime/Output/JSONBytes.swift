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

    public mutating func beginArray() {
        comma()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func key(_ k: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
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

    /// Integral values below 1e15 as integers, others as Swift's shortest round-trip text
    /// (`Double.description`), written without building a `String`.
    public mutating func number(_ v: Double) {
        comma()
        if v.isFinite {
            if v == v.rounded(), abs(v) < 1e15 {
                digits(Int64(v))
            } else {
                // Double.write(to:) hands its stack-formatted ASCII to `_writeASCII`.
                var sink = ASCIISink()
                swap(&sink.bytes, &bytes)
                v.write(to: &sink)
                swap(&sink.bytes, &bytes)
            }
        } else {
            appendNull()
        }
        needsComma = true
    }

    public mutating func number(_ v: Int64) {
        comma()
        digits(v)
        needsComma = true
    }

    /// Decimal digits of `v`, formatted on the stack.
    private mutating func digits(_ v: Int64) {
        var m = v.magnitude
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        if m < 10 { bytes.append(UInt8(truncatingIfNeeded: m) &+ 48); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            while m > 0 {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    private mutating func appendNull() {
        bytes.append(UInt8(ascii: "n")); bytes.append(UInt8(ascii: "u")); bytes.append(UInt8(ascii: "l")); bytes.append(UInt8(ascii: "l"))
    }

    public mutating func bool(_ v: Bool) {
        comma()
        bytes.append(contentsOf: (v ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        comma()
        appendNull()
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
        // Fast path: printable ASCII without quote or backslash is copied as it is.
        var plain = true
        for b in raw where b >= 0x80 || b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { plain = false; break }
        if plain {
            bytes.append(contentsOf: raw)
        } else if String(validating: raw, as: UTF8.self) != nil {
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

/// Receives `Double.write(to:)`'s ASCII digits straight into a byte buffer.
private struct ASCIISink: TextOutputStream {
    var bytes: [UInt8] = []
    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
