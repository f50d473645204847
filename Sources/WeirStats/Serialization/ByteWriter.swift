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

    static func appendHeader(tag: StaticString, version: UInt16, into bytes: inout [UInt8]) {
        precondition(tag.utf8CodeUnitCount == 4, "serialization tags are four ASCII bytes")
        tag.withUTF8Buffer { bytes.append(contentsOf: $0) }
        append(UInt64(version), count: 2, into: &bytes)
    }
}
