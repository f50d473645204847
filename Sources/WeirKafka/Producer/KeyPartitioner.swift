/// How a producer maps a message key to a partition, for the two partitioners keyed topics are
/// written with: librdkafka's default (`consistent_random`: CRC-32 of the key, also kcat's,
/// confluent-kafka's and `weir produce`'s) and the Java client's (`murmur2`, also Kafka Streams'
/// and librdkafka's `murmur2_random`). Used to find which instance owns a key (serving routing);
/// pure computation, O(key length), no allocation.
public enum KeyPartitioner: String, Sendable, CaseIterable {
    /// `crc32(key) % count` (librdkafka `consistent`/`consistent_random`).
    case crc32
    /// `(murmur2(key) & 0x7fffffff) % count` (Java `DefaultPartitioner`, librdkafka `murmur2`).
    case murmur2

    /// The partition of `key` among `count` partitions (`count` ≥ 1).
    public func partition(of key: UnsafeRawBufferPointer, count: Int) -> Int32 {
        precondition(count > 0, "a topic has at least one partition")
        switch self {
        case .crc32: return Int32(Self.crc32(key) % UInt32(count))
        case .murmur2: return Int32((Self.murmur2(key) & 0x7fff_ffff) % UInt32(count))
        }
    }

    public func partition(of key: some Collection<UInt8>, count: Int) -> Int32 {
        Array(key).withUnsafeBytes { partition(of: $0, count: count) }
    }

    /// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Kafka's murmur2 (32-bit, seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`
    /// (the Java value is this one's bit pattern as a signed Int32).
    public static func murmur2(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let n = bytes.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: n)
        var i = 0
        while i + 4 <= n {
            var k = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            i += 4
        }
        let rest = n - i
        if rest >= 3 { h ^= UInt32(bytes[i + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(bytes[i + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(bytes[i])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}

/// Finds which ``KeyPartitioner`` the producers of a topic used, from records read with their
/// keys and partitions: every partitioner that disagrees with one observed record is ruled out.
///
/// Invariant: ``candidates`` only shrinks (a topic written by a mix of partitioners, or by one
/// that is neither, ends with none). ``partitioner`` is set once exactly one candidate remains
/// after records that tell them apart. Cost per ``observe(key:partition:count:)``: two hashes of
/// the key; callers sample (``wantsSample(_:)``).
public struct PartitionerDetector: Sendable, Equatable {
    /// The partitioners no record contradicted.
    public private(set) var candidates: Set<KeyPartitioner> = Set(KeyPartitioner.allCases)
    /// Records observed.
    public private(set) var observed = 0

    public init() {}

    /// The partitioner the records prove, once only one is left.
    public var partitioner: KeyPartitioner? { candidates.count == 1 ? candidates.first : nil }

    /// Whether the `n`th keyed record should be observed: the first 4,096, then one in 1,024
    /// (a topic whose producers change partitioner is still noticed).
    @inline(__always)
    public func wantsSample(_ n: Int) -> Bool { n < 4096 || n & 1023 == 0 }

    public mutating func observe(key: UnsafeRawBufferPointer, partition: Int32, count: Int) {
        observed += 1
        for p in candidates where p.partition(of: key, count: count) != partition { candidates.remove(p) }
    }
}
