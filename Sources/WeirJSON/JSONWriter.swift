/// Weir's one JSON writer: every record, log line and command output is written by it.
///
/// It appends UTF-8 bytes to a reusable buffer (`reset()` keeps the capacity), inserting commas
/// itself; members and elements appear in call order, so record layouts are stable. Once the
/// buffer has grown to a record's size, writing the record allocates nothing (strings, integers
/// and doubles are formatted on the stack).
///
/// One rule for numbers:
/// - a finite `Double` that is a whole number of magnitude below 2^53 is written as an integer
///   (`3`, not `3.0`; `-0.0` as `0`);
/// - any other finite `Double` in Swift's shortest round-trip form (`0.1`, `1e-05`, `1e+300`,
///   `5e-324`), which parses back to the same bits;
/// - NaN and ±infinity are written as `null` (records carry a reason where a number can be undefined).
///
/// One rule for strings (RFC 8259): `"` and `\` are escaped, `\n`, `\r`, `\t`, `\b`, `\f` get their
/// short escapes and every other control character (U+0000–U+001F) is `\u00XX`; U+2028 and U+2029
/// are written as `\u2028`, `\u2029` (valid JSON, but line breaks to JavaScript). Everything else is
/// copied as UTF-8. Bytes that are not valid UTF-8 (e.g. a Kafka key, through `value(utf8:)`) are
/// replaced by U+FFFD, one per maximal invalid subsequence (Unicode's recommended practice, as
/// Swift's `String(decoding:as:)` and Python's `errors="replace"` do).
/// - Complexity: O(output length).
public struct JSONWriter: Sendable {
    /// The JSON written since the last `reset()`.
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// - Parameter capacity: bytes to reserve (a score record is ~200 B, a drift record ~1 KB).
    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Clears the output, keeping its capacity.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// The output as a string (allocates; for logs, commands and tests).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    // MARK: structure

    public mutating func beginObject() { comma(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    /// Opens an object as the value of `key`.
    public mutating func beginObject(_ key: String) { self.key(key); beginObject() }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { comma(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    /// Opens an array as the value of `key`.
    public mutating func beginArray(_ key: String) { self.key(key); beginArray() }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":`; the next value completes the member.
    public mutating func key(_ name: String) {
        comma()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: values

    public mutating func null() { comma(); appendNull(); needsComma = true }
    public mutating func value(_ v: Bool) {
        comma()
        if v {
            bytes.append(UInt8(ascii: "t")); bytes.append(UInt8(ascii: "r")); bytes.append(UInt8(ascii: "u"))
            bytes.append(UInt8(ascii: "e"))
        } else {
            bytes.append(UInt8(ascii: "f")); bytes.append(UInt8(ascii: "a")); bytes.append(UInt8(ascii: "l"))
            bytes.append(UInt8(ascii: "s")); bytes.append(UInt8(ascii: "e"))
        }
        needsComma = true
    }
    public mutating func value(_ v: Int64) { comma(); digits(v); needsComma = true }
    public mutating func value(_ v: Int) { value(Int64(v)) }
    public mutating func value(_ v: UInt64) {
        comma()
        if v <= UInt64(Int64.max) { digits(Int64(v)) } else { unsignedDigits(v) }
        needsComma = true
    }

    /// A number by the rule above (whole below 2^53 as an integer, else shortest round-trip; non-finite as `null`).
    public mutating func value(_ v: Double) {
        comma()
        if !v.isFinite {
            appendNull()
        } else if v == v.rounded(.towardZero), v.magnitude < 0x1p53 {
            digits(Int64(v))
        } else {
            // Double.write(to:) formats on the stack and hands the ASCII to `_writeASCII`.
            var sink = ASCIISink()
            swap(&sink.bytes, &bytes)
            v.write(to: &sink)
            swap(&sink.bytes, &bytes)
        }
        needsComma = true
    }

    /// A string, escaped by the rule above.
    public mutating func value(_ s: String) { comma(); appendString(s); needsComma = true }

    /// A string from bytes that should be UTF-8 (invalid sequences become U+FFFD).
    public mutating func value(utf8 raw: UnsafeRawBufferPointer) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(raw)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func value(_ v: Double?) { if let v { value(v) } else { null() } }
    public mutating func value(_ v: Int?) { if let v { value(v) } else { null() } }
    public mutating func value(_ v: Int64?) { if let v { value(v) } else { null() } }
    public mutating func value(_ v: Bool?) { if let v { value(v) } else { null() } }
    public mutating func value(_ s: String?) { if let s { value(s) } else { null() } }

    // MARK: members (key and value)

    public mutating func field(_ k: String, _ v: Double) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Int) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Int64) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Bool) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: String) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Double?) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Int?) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Int64?) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: Bool?) { key(k); value(v) }
    public mutating func field(_ k: String, _ v: String?) { key(k); value(v) }
    public mutating func nullField(_ k: String) { key(k); null() }
    public mutating func field(_ k: String, strings: [String]) { beginArray(k); for s in strings { value(s) }; endArray() }
    public mutating func field(_ k: String, ints: [Int]) { beginArray(k); for v in ints { value(v) }; endArray() }
    /// An array of numbers (a non-finite one is written as `null`).
    public mutating func field(_ k: String, doubles: [Double]) { beginArray(k); for v in doubles { value(v) }; endArray() }

    // MARK: formatting

    private mutating func appendNull() {
        bytes.append(UInt8(ascii: "n")); bytes.append(UInt8(ascii: "u")); bytes.append(UInt8(ascii: "l")); bytes.append(UInt8(ascii: "l"))
    }

    /// Decimal digits of `v`, formatted on the stack.
    private mutating func digits(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        unsignedDigits(v.magnitude)
    }

    private mutating func unsignedDigits(_ v: UInt64) {
        var m = v
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

    private mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex: StaticString = "0123456789abcdef"

    @inline(__always) private mutating func appendUnicodeEscape(_ code: UInt16) {
        bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "u"))
        Self.hex.withUTF8Buffer { h in
            bytes.append(h[Int(code >> 12)]); bytes.append(h[Int((code >> 8) & 15)])
            bytes.append(h[Int((code >> 4) & 15)]); bytes.append(h[Int(code & 15)])
        }
    }

    @inline(__always) private mutating func appendReplacement() {
        bytes.append(0xEF); bytes.append(0xBF); bytes.append(0xBD)
    }

    /// The body of a JSON string: escapes by the rule above, replaces invalid UTF-8.
    private mutating func appendEscaped(_ p: UnsafeRawBufferPointer) {
        // Fast path: printable ASCII without quote or backslash is copied as it is.
        var plain = true
        for b in p where b >= 0x80 || b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
        if plain { bytes.append(contentsOf: p); return }
        let n = p.count
        var i = 0
        while i < n {
            let b = p[i]
            if b < 0x80 {
                switch b {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(0x5C); bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(0x5C); bytes.append(UInt8(ascii: "f"))
                case 0..<0x20: appendUnicodeEscape(UInt16(b))
                default: bytes.append(b)
                }
                i += 1
                continue
            }
            // A multi-byte sequence: its length and the range of its second byte (RFC 3629 table).
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F   // no surrogates
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F   // nothing above U+10FFFF
            default: appendReplacement(); i += 1; continue   // 0x80–0xC1, 0xF5–0xFF never start a sequence
            }
            var j = 1
            while j < length, i + j < n {
                let c = p[i + j]
                guard j == 1 ? (c >= low && c <= high) : (c >= 0x80 && c <= 0xBF) else { break }
                j += 1
            }
            if j < length {   // a truncated sequence: one replacement for its maximal subpart
                appendReplacement()
                i += j
                continue
            }
            if b == 0xE2, p[i + 1] == 0x80, p[i + 2] == 0xA8 || p[i + 2] == 0xA9 {
                appendUnicodeEscape(p[i + 2] == 0xA8 ? 0x2028 : 0x2029)
            } else {
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<(i + length)]))
            }
            i += length
        }
    }
}

/// Receives `Double.write(to:)`'s ASCII digits straight into a byte buffer.
private struct ASCIISink: TextOutputStream {
    var bytes: [UInt8] = []
    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
