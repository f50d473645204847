/// Why restoring from bytes failed. Every case says what and where (byte offset).
public enum SerializationError: Error, Equatable, Sendable {
    /// The input ended early: `needed` more bytes at `offset`, only `available` left.
    case truncated(offset: Int, needed: Int, available: Int)
    /// The four-byte tag at `offset` is not the one expected for this type.
    case badTag(offset: Int, expected: String, found: String)
    /// The version of a `tag` object is not one this build can read.
    case unsupportedVersion(tag: String, version: UInt16)
    /// A decoded field violates the type's invariants (e.g. a negative count).
    case invalidValue(field: String, detail: String)
}

/// Reads little-endian binary values written by ``ByteWriter``.
///
/// Never traps on bad input: every read checks bounds and throws ``SerializationError``.
/// - Complexity: O(1) per scalar.
public struct ByteReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// The next byte to read.
    public private(set) var offset: Int

    /// Creates a reader over `bytes`, starting at `offset`.
    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }
    /// True when every byte has been read.
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads and checks a header written by ``ByteWriter/writeHeader(tag:version:)``; returns the version.
    /// - Throws: ``SerializationError/badTag(offset:expected:found:)``,
    ///   ``SerializationError/unsupportedVersion(tag:version:)``, or `truncated`.
    @discardableResult
    public mutating func readHeader(tag: StaticString, supportedVersions: ClosedRange<UInt16>) throws(SerializationError) -> UInt16 {
        let start = offset
        try need(6)
        let expected = tag.withUTF8Buffer { Array($0) }
        let found = Array(bytes[offset..<offset + 4])
        if found != expected {
            throw .badTag(offset: start, expected: String(decoding: expected, as: UTF8.self),
                          found: String(decoding: found, as: UTF8.self))
        }
        offset += 4
        let version = try readUInt16()
        if !supportedVersions.contains(version) {
            throw .unsupportedVersion(tag: String(decoding: expected, as: UTF8.self), version: version)
        }
        return version
    }

    private func need(_ n: Int) throws(SerializationError) {
        if n < 0 || remaining < n { throw .truncated(offset: offset, needed: n, available: max(0, remaining)) }
    }

    private mutating func readLE(_ n: Int) throws(SerializationError) -> UInt64 {
        try need(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += n
        return v
    }

    public mutating func readUInt8() throws(SerializationError) -> UInt8 { UInt8(try readLE(1)) }
    public mutating func readUInt16() throws(SerializationError) -> UInt16 { UInt16(try readLE(2)) }
    public mutating func readUInt32() throws(SerializationError) -> UInt32 { UInt32(try readLE(4)) }
    public mutating func readUInt64() throws(SerializationError) -> UInt64 { try readLE(8) }
    public mutating func readInt32() throws(SerializationError) -> Int32 { Int32(bitPattern: try readUInt32()) }
    public mutating func readInt64() throws(SerializationError) -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readDouble() throws(SerializationError) -> Double { Double(bitPattern: try readUInt64()) }

    /// Reads a varint written by ``ByteWriter/writeVarint(_:)``.
    /// - Throws: `truncated`, or `invalidValue` for more than 64 bits.
    public mutating func readVarint() throws(SerializationError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            try need(1)
            let b = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || b <= 1 else { throw .invalidValue(field: "varint", detail: "more than 64 bits at \(offset - 1)") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// Reads a signed integer written by ``ByteWriter/writeZigzag(_:)``.
    public mutating func readZigzag() throws(SerializationError) -> Int64 {
        let u = try readVarint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// Reads a varint count no larger than `limit` (the varint form of ``readCount(field:limit:)``).
    public mutating func readVarintCount(field: String, limit: Int = Int(Int32.max)) throws(SerializationError) -> Int {
        let v = try readVarint()
        guard v <= UInt64(max(0, limit)) else { throw .invalidValue(field: field, detail: "count \(v) exceeds \(limit)") }
        return Int(v)
    }

    /// Reads a zigzag varint that must fit an `Int32` (ids and links, −1 for none).
    public mutating func readZigzagInt32(field: String) throws(SerializationError) -> Int32 {
        let v = try readZigzag()
        guard let i = Int32(exactly: v) else { throw .invalidValue(field: field, detail: "\(v) exceeds Int32") }
        return i
    }

    /// Reads a varint that must fit a `UInt32` (generations).
    public mutating func readVarintUInt32(field: String) throws(SerializationError) -> UInt32 {
        let v = try readVarint()
        guard let i = UInt32(exactly: v) else { throw .invalidValue(field: field, detail: "\(v) exceeds UInt32") }
        return i
    }

    /// Reads a `Double` written by ``ByteWriter/writeCompact(_:)``.
    public mutating func readCompactDouble() throws(SerializationError) -> Double {
        let u = try readVarint()
        if u == 1 { return try readDouble() }
        guard u & 1 == 0 else { throw .invalidValue(field: "compact double", detail: "marker \(u)") }
        let z = u >> 1
        return Double(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
    }

    /// Reads an `Int` written with ``ByteWriter/write(_:)-Int``.
    public mutating func readInt() throws(SerializationError) -> Int {
        let v = try readInt64()
        guard let i = Int(exactly: v) else { throw .invalidValue(field: "Int", detail: "\(v) out of range") }
        return i
    }

    /// Reads a non-negative count no larger than `limit` (guards against hostile sizes).
    public mutating func readCount(field: String, limit: Int = Int(Int32.max)) throws(SerializationError) -> Int {
        let v = try readUInt64()
        guard v <= UInt64(limit) else { throw .invalidValue(field: field, detail: "count \(v) exceeds \(limit)") }
        return Int(v)
    }

    public mutating func readBool() throws(SerializationError) -> Bool {
        let b = try readUInt8()
        guard b <= 1 else { throw .invalidValue(field: "Bool", detail: "byte \(b)") }
        return b == 1
    }

    /// Reads a length-prefixed run of `Double`s.
    public mutating func readDoubles(field: String) throws(SerializationError) -> [Double] {
        let n = try readCount(field: field)
        try need(n * 8)
        #if _endian(little)
        // The encoding is the little-endian memory layout: one copy.
        guard n > 0 else { return [] }
        let start = offset
        let out = [Double](unsafeUninitializedCapacity: n) { dst, count in
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawPointer(dst.baseAddress!).copyMemory(from: src.baseAddress! + start, byteCount: n * 8)
            }
            count = n
        }
        offset += n * 8
        return out
        #else
        var out = [Double]()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try readDouble()) }
        return out
        #endif
    }

    /// Reads a length-prefixed byte run.
    public mutating func readBytes(field: String) throws(SerializationError) -> [UInt8] {
        try readRaw(count: try readCount(field: field), field: field)
    }

    /// Reads the next `count` bytes (no length prefix).
    public mutating func readRaw(count n: Int, field: String) throws(SerializationError) -> [UInt8] {
        try need(n)
        let out = Array(bytes[offset..<offset + n])
        offset += n
        return out
    }

    /// Reads a length-prefixed UTF-8 string.
    public mutating func readString(field: String) throws(SerializationError) -> String {
        String(decoding: try readBytes(field: field), as: UTF8.self)
    }
}
