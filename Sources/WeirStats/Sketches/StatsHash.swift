/// 64-bit mixing hashes for sketches (``HyperLogLog``), stable across runs and platforms.
///
/// Unlike Swift's `Hasher`, these are not randomly seeded per process, so sketches built in
/// different processes (or restored from snapshots) merge correctly.
/// - Complexity: O(1) per scalar, O(n) per byte run; never allocates.
public enum StatsHash {
    /// A bijective avalanche mix of `x` (0 does not map to 0): SplitMix64's output for the state
    /// `x`, i.e. `SplitMix64(seed: x).next()`.
    @inlinable @inline(__always)
    public static func mix64(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ SplitMix64.increment) }

    /// Hash of a `Double`; `-0.0` hashes like `0.0` and every NaN like one canonical NaN.
    @inlinable @inline(__always)
    public static func hash(_ v: Double) -> UInt64 {
        if v.isNaN { return mix64(Double.nan.bitPattern) }
        return mix64(v == 0 ? 0 : v.bitPattern)
    }

    /// Hash of an `Int64`.
    @inlinable @inline(__always)
    public static func hash(_ v: Int64) -> UInt64 { mix64(UInt64(bitPattern: v) ^ 0x5851_F42D_4C95_7F2D) }

    /// Hash of an `Int32` (e.g. an interned category id); equals `hash(Int64(v))`.
    @inlinable @inline(__always)
    public static func hash(_ v: Int32) -> UInt64 { hash(Int64(v)) }

    /// Hash of a byte run (e.g. a UTF-8 string).
    @inlinable
    public static func hash(bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = mix64(h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = mix64(h ^ tail ^ 0x8000_0000_0000_0000)
        }
        return mix64(h)
    }

    /// Hash of a string's UTF-8 bytes.
    @inlinable
    public static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { hash(bytes: UnsafeRawBufferPointer($0)) }
    }
}
