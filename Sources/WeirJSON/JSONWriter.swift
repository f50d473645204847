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
/// Keys written as string literals take `StaticString` overloads (no `String` is made per record:
/// the score record is written per event); computed keys are `String`s; both are escaped alike.
/// - Complexity: O(output length).
public struct JSONWriter: Sendable {
    /// The JSON written since the last `reset()`.
    @inlinable public var bytes: [UInt8] { storage }
    @usableFromInline var storage: [UInt8] = []
    @usableFromInline var needsComma = false

    /// - Parameter capacity: bytes to reserve (a score record is ~200 B, a drift record ~1 KB).
    @inlinable public init(capacity: Int = 256) { storage.reserveCapacity(capacity) }

    /// Clears the output, keeping its capacity.
    @inlinable public mutating func reset() {
        storage.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// The output as a string (allocates; for logs, commands and tests).
    @inlinable public var string: String { String(decoding: storage, as: UTF8.self) }

    @inlinable @inline(__always) mutating func comma() {
        if needsComma { storage.append(UInt8(ascii: ",")) }
    }

    // MARK: structure

    @inlinable public mutating func beginObject() { comma(); storage.append(UInt8(ascii: "{")); needsComma = false }
    /// Opens an object as the value of `key`.
    @inlinable @_disfavoredOverload public mutating func beginObject(_ key: String) { self.key(key); beginObject() }
    @inlinable public mutating func beginObject(_ key: StaticString) { self.key(key); beginObject() }
    @inlinable public mutating func endObject() { storage.append(UInt8(ascii: "}")); needsComma = true }
    @inlinable public mutating func beginArray() { comma(); storage.append(UInt8(ascii: "[")); needsComma = false }
    /// Opens an array as the value of `key`.
    @inlinable @_disfavoredOverload public mutating func beginArray(_ key: String) { self.key(key); beginArray() }
    @inlinable public mutating func beginArray(_ key: StaticString) { self.key(key); beginArray() }
    @inlinable public mutating func endArray() { storage.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":`; the next value completes the member.
    @inlinable @_disfavoredOverload public mutating func key(_ name: String) {
        comma()
        appendString(name)
        storage.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A literal key (the overload string literals take: no `String` is made; same escaping).
    @inlinable public mutating func key(_ name: StaticString) {
        comma()
        storage.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { appendEscaped(UnsafeRawBufferPointer($0)) }
        storage.append(UInt8(ascii: "\""))
        storage.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: values

    @inlinable public mutating func null() { comma(); appendNull(); needsComma = true }
    @inlinable public mutating func value(_ v: Bool) {
        comma()
        if v {
            storage.append(UInt8(ascii: "t")); storage.append(UInt8(ascii: "r")); storage.append(UInt8(ascii: "u"))
            storage.append(UInt8(ascii: "e"))
        } else {
            storage.append(UInt8(ascii: "f")); storage.append(UInt8(ascii: "a")); storage.append(UInt8(ascii: "l"))
            storage.append(UInt8(ascii: "s")); storage.append(UInt8(ascii: "e"))
        }
        needsComma = true
    }
    @inlinable public mutating func value(_ v: Int64) { comma(); digits(v); needsComma = true }
    @inlinable public mutating func value(_ v: Int) { value(Int64(v)) }
    @inlinable public mutating func value(_ v: UInt64) {
        comma()
        if v <= UInt64(Int64.max) { digits(Int64(v)) } else { unsignedDigits(v) }
        needsComma = true
    }

    /// A number by the rule above (whole below 2^53 as an integer, else shortest round-trip; non-finite as `null`).
    @inlinable public mutating func value(_ v: Double) {
        comma()
        if !v.isFinite {
            appendNull()
        } else if v == v.rounded(.towardZero), v.magnitude < 0x1p53 {
            digits(Int64(v))
        } else {
            // Double.write(to:) formats on the stack and hands the ASCII to `_writeASCII`.
            var sink = ASCIISink()
            swap(&sink.bytes, &storage)
            v.write(to: &sink)
            swap(&sink.bytes, &storage)
        }
        needsComma = true
    }

    /// A string, escaped by the rule above.
    @inlinable public mutating func value(_ s: String) { comma(); appendString(s); needsComma = true }

    /// A string from bytes that should be UTF-8 (invalid sequences become U+FFFD).
    @inlinable public mutating func value(utf8 raw: UnsafeRawBufferPointer) {
        comma()
        storage.append(UInt8(ascii: "\""))
        appendEscaped(raw)
        storage.append(UInt8(ascii: "\""))
        needsComma = true
    }

    @inlinable public mutating func value(_ v: Double?) { if let v { value(v) } else { null() } }
    @inlinable public mutating func value(_ v: Int?) { if let v { value(v) } else { null() } }
    @inlinable public mutating func value(_ v: Int64?) { if let v { value(v) } else { null() } }
    @inlinable public mutating func value(_ v: Bool?) { if let v { value(v) } else { null() } }
    @inlinable public mutating func value(_ s: String?) { if let s { value(s) } else { null() } }

    // MARK: members (key and value)

    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Double) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Double) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Int) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Int) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Int64) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Int64) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Bool) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Bool) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: String) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: String) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Double?) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Double?) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Int?) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Int?) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Int64?) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Int64?) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: Bool?) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: Bool?) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, _ v: String?) { key(k); value(v) }
    @inlinable public mutating func field(_ k: StaticString, _ v: String?) { key(k); value(v) }
    @inlinable @_disfavoredOverload public mutating func nullField(_ k: String) { key(k); null() }
    @inlinable public mutating func nullField(_ k: StaticString) { key(k); null() }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, strings: [String]) { beginArray(k); for s in strings { value(s) }; endArray() }
    @inlinable public mutating func field(_ k: StaticString, strings: [String]) { beginArray(k); for s in strings { value(s) }; endArray() }
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, ints: [Int]) { beginArray(k); for v in ints { value(v) }; endArray() }
    @inlinable public mutating func field(_ k: StaticString, ints: [Int]) { beginArray(k); for v in ints { value(v) }; endArray() }
    /// An array of numbers (a non-finite one is written as `null`).
    @inlinable @_disfavoredOverload public mutating func field(_ k: String, doubles: [Double]) { beginArray(k); for v in doubles { value(v) }; endArray() }
    @inlinable public mutating func field(_ k: StaticString, doubles: [Double]) { beginArray(k); for v in doubles { value(v) }; endArray() }

    // MARK: formatting

    @usableFromInline mutating func appendNull() {
        storage.append(UInt8(ascii: "n")); storage.append(UInt8(ascii: "u")); storage.append(UInt8(ascii: "l")); storage.append(UInt8(ascii: "l"))
    }

    /// Decimal digits of `v`, formatted on the stack.
    @usableFromInline mutating func digits(_ v: Int64) {
        if v < 0 { storage.append(UInt8(ascii: "-")) }
        unsignedDigits(v.magnitude)
    }

    @usableFromInline mutating func unsignedDigits(_ v: UInt64) {
        var m = v
        if m < 10 { storage.append(UInt8(truncatingIfNeeded: m) &+ 48); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            while m > 0 {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            }
            storage.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    @usableFromInline mutating func appendString(_ s: String) {
        storage.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
        storage.append(UInt8(ascii: "\""))
    }

    @usableFromInline static let hex: StaticString = "0123456789abcdef"

    @usableFromInline @inline(__always) mutating func appendUnicodeEscape(_ code: UInt16) {
        storage.append(UInt8(ascii: "\\")); storage.append(UInt8(ascii: "u"))
        Self.hex.withUTF8Buffer { h in
            storage.append(h[Int(code >> 12)]); storage.append(h[Int((code >> 8) & 15)])
            storage.append(h[Int((code >> 4) & 15)]); storage.append(h[Int(code & 15)])
        }
    }

    @usableFromInline @inline(__always) mutating func appendReplacement() {
        storage.append(0xEF); storage.append(0xBF); storage.append(0xBD)
    }

    /// The body of a JSON string: escapes by the rule above, replaces invalid UTF-8.
    @usableFromInline mutating func appendEscaped(_ p: UnsafeRawBufferPointer) {
        // Fast path: printable ASCII without quote or backslash is copied as it is.
        var plain = true
        for b in p where b >= 0x80 || b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
        if plain { storage.append(contentsOf: p); return }
        let n = p.count
        var i = 0
        while i < n {
            let b = p[i]
            if b < 0x80 {
                switch b {
                case 0x22: storage.append(0x5C); storage.append(0x22)
                case 0x5C: storage.append(0x5C); storage.append(0x5C)
                case 0x0A: storage.append(0x5C); storage.append(UInt8(ascii: "n"))
                case 0x0D: storage.append(0x5C); storage.append(UInt8(ascii: "r"))
                case 0x09: storage.append(0x5C); storage.append(UInt8(ascii: "t"))
                case 0x08: storage.append(0x5C); storage.append(UInt8(ascii: "b"))
                case 0x0C: storage.append(0x5C); storage.append(UInt8(ascii: "f"))
                case 0..<0x20: appendUnicodeEscape(UInt16(b))
                default: storage.append(b)
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
                storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<(i + length)]))
            }
            i += length
        }
    }
}

/// Receives `Double.write(to:)`'s ASCII digits straight into a byte buffer.
@usableFromInline struct ASCIISink: TextOutputStream {
    @usableFromInline var bytes: [UInt8] = []
    @inlinable init() {}
    @inlinable mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
    @inlinable mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
