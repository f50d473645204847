/// A fast, well-mixed 64-bit hash of a byte run (8-byte chunks, multiply-xorshift finaliser).
///
/// Deterministic across runs and platforms (little-endian loads), so interned ids and snapshots
/// do not depend on process seeds. Not cryptographic.
/// - Complexity: O(n), allocation-free.
@inlinable
public func weirHashBytes(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: n) &* 0xFF51_AFD7_ED55_8CCD)
    var i = 0
    while i + 8 <= n {
        let w = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    if i < n {
        let w = loadShort(p + i, n - i)
        h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
    }
    h ^= h >> 29
    h = h &* 0x94D0_49BB_1331_11EB
    h ^= h >> 32
    return h
}
