/// MurmurHash3 x86_32 (Austin Appleby), the hash Vowpal Wabbit uses for features (`uniform_hash`).
///
/// Little-endian block reads, so results equal the reference C implementation on every platform.
/// - Complexity: O(n) in the byte count; never allocates.
public enum MurmurHash3 {
    /// Hash of `bytes` with `seed`.
    @inlinable
    public static func x86_32(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51, c2: UInt32 = 0x1b87_3593
        var h = seed
        let n = bytes.count
        let blocks = n / 4
        for b in 0..<blocks {
            let o = b * 4
            var k = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            k = k &* c1
            k = (k << 15) | (k >> 17)
            k = k &* c2
            h ^= k
            h = (h << 13) | (h >> 19)
            h = h &* 5 &+ 0xe654_6b64
        }
        let tail = blocks * 4
        var k1: UInt32 = 0
        let rem = n & 3
        if rem >= 3 { k1 ^= UInt32(bytes[tail + 2]) << 16 }
        if rem >= 2 { k1 ^= UInt32(bytes[tail + 1]) << 8 }
        if rem >= 1 {
            k1 ^= UInt32(bytes[tail])
            k1 = k1 &* c1
            k1 = (k1 << 15) | (k1 >> 17)
            k1 = k1 &* c2
            h ^= k1
        }
        h ^= UInt32(truncatingIfNeeded: n)
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        h ^= h >> 16
        return h
    }

    /// Hash of a string's UTF-8 bytes.
    public static func x86_32(_ s: String, seed: UInt32 = 0) -> UInt32 {
        var s = s
        return s.withUTF8 { x86_32(UnsafeRawBufferPointer($0), seed: seed) }
    }
}
