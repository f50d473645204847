/// Appends little-endian binary values to a byte array.
///
/// Used by every snapshot-able type in Weir (sketches, detectors, samplers, and other modules'
/// state). Each serialized object starts with ``writeHeader(tag:version:)``: a four-byte tag and
/// a `UInt16` version that ``ByteReader/readHeader(tag:supportedVersions:)`` checks on restore.
/// All integers are little-endian; `Double` is written as its IEEE-754 bit pattern, so values
/// (including NaN payloads and signed zeros) restore bit-exactly.
///
/// - Complexity: O(1) amortised per scalar; appending never reads back.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates a writer, optionally reserving `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes a four-character ASCII `tag` and a format `version`.
    public mutating func writeHeader(tag: StaticString, version: UInt16) {
        Self.appendHeader(tag: tag, version: version, into: &bytes)
    }

    @inlinable public mutating func write(_ v: UInt8) { bytes.append(v) }
    @inlinable public mutating func write(_ v: UInt16) { Self.append(UInt64(v), count: 2, into: &bytes) }
    @inlinable public mutating func write(_ v: UInt32) { Self.append(UInt64(v), count: 4, into: &bytes) }
    @inlinable public mutating func write(_ v: UInt64) { Self.append(v, count: 8, into: &bytes) }
    @inlinable public mutating func write(_ v: Int32) { write(UInt32(bitPattern: v)) }
    @inlinable public mutating func write(_ v: Int64) { write(UInt64(bitPattern: v)) }
    /// Writes an `Int` as a 64-bit signed integer.
    @inlinable public mutating func write(_ v: Int) { write(Int64(v)) }
    @inlinable public mutating func write(_ v: Double) { write(v.bitPattern) }
    @inlinable public mutating func write(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// Writes `v` as a LEB128 varint: seven bits per byte, low bits first, the high bit set on
    /// every byte but the last (1 byte below 128, at most 10). For counts, ids and deltas that are
    /// usually small.
    @inlinable public mutating func writeVarint(_ v: UInt64) { Self.appendVarint(v, into: &bytes) }
    /// Writes `v` zigzag-encoded (0, −1, 1, −2, … → 0, 1, 2, 3, …) as a varint: small magnitudes
    /// of either sign take few bytes.
    @inlinable public mutating func writeZigzag(_ v: Int64) { writeVarint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    /// Writes a `Double` in 1–9 bytes, exactly (bit for bit): an integral value of magnitude below
    /// 2^53 (not −0) as the varint of its zigzag shifted left by one (−32 to 31 take one
    /// byte), any other value as the varint 1 followed by its 8 bytes.
    @inlinable public mutating func writeCompact(_ v: Double) {
        if let i = Int64(exactly: v), i > -(1 << 53), i < (1 << 53), v.bitPattern != (-0.0 as Double).bitPattern {
            writeVarint(UInt64(bitPattern: (i << 1) ^ (i >> 63)) << 1)
        } else {
            bytes.append(1)
            write(v)
        }
    }

    /// Writes a count (`UInt64`) followed by the raw values. Contiguous values are copied in one
    /// `memcpy` on little-endian machines, whose memory layout is the encoding (a drift
    /// reference of 200,000 values per checkpoint made the per-byte path a visible cost).
    public mutating func write(_ values: some Collection<Double>) {
        write(UInt64(values.count))
        #if _endian(little)
        let copied: Void? = values.withContiguousStorageIfAvailable { src in
            bytes.append(contentsOf: UnsafeRawBufferPointer(src))
        }
        if copied != nil { return }
        #endif
        bytes.reserveCapacity(bytes.count + 8 * values.count)
        for v in values { write(v) }
    }

    /// Writes a count (`UInt64`) followed by the raw bytes.
    public mutating func writeBytes(_ values: some Collection<UInt8>) {
        write(UInt64(values.count))
        bytes.append(contentsOf: values)
    }

    /// Writes what `body` writes as a length-prefixed byte run: the same bytes as
    /// ``writeBytes(_:)`` of a separate writer's output, without that writer's buffer and copy
    /// (the count is patched in once `body` returns).
    public mutating func writeLengthPrefixed(_ body: (inout ByteWriter) throws -> Void) rethrows {
        let at = bytes.count
        write(UInt64(0))
        try body(&self)
        let n = UInt64(bytes.count - at - 8)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: n.littleEndian, toByteOffset: at, as: UInt64.self) }
    }

    /// Writes a UTF-8 string as a length-prefixed byte run.
    public mutating func write(_ s: String) { writeBytes(Array(s.utf8)) }

    // MARK: static helpers (usable on any `[UInt8]`)

    @inlinable
    static func append(_ v: UInt64, count: Int, into bytes: inout [UInt8]) {
        var x = v
        for _ in 0..<count {
            bytes.append(UInt8(truncatingIfNeeded: x))
            x >>= 8
        }
    }

    /// Appends `v` as a LEB128 varint (``writeVarint(_:)``) to any byte array.
    @inlinable
    public static func appendVarint(_ v: UInt64, into bytes: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    static func appendHeader(tag: StaticString, version: UInt16, into bytes: inout [UInt8]) {
        precondition(tag.utf8CodeUnitCount == 4, "serialization tags are four ASCII bytes")
        tag.withUTF8Buffer { bytes.append(contentsOf: $0) }
        append(UInt64(version), count: 2, into: &bytes)
    }
}
