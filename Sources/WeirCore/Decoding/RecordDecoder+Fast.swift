/// The decoder's fast path: compact JSON (no whitespace) whose keys come in the order of the
/// previous records, with plain values (integers and decimals without exponent, strings without
/// escapes, known categories, `true`/`false`) within bounds.
///
/// It either decodes the whole record exactly as the general path would (same values, same
/// rounding: decimals go through the same Clinger fast path of `tokenValue`), or gives up
/// (returns false) at the first byte it does not expect; the caller then rolls the row back and
/// runs the general path, which produces the value or the specific error. So it changes speed,
/// never results or errors.
/// - Complexity: O(bytes), allocation-free (string bytes go to the batch arena as before).
extension RecordDecoder {
    /// Per field: `"name":` as up to three little-endian words, with its length (0: too long for
    /// the fast path).
    @usableFromInline struct FastKey: Sendable {
        var w0: UInt64, w1: UInt64, w2: UInt64
        var length: Int
    }

    static func fastKeys(_ schema: Schema) -> ContiguousArray<FastKey> {
        ContiguousArray(schema.fields.map { f in
            let b = [34] + Array(f.name.utf8) + [34, 58]
            guard b.count <= 24 else { return FastKey(w0: 0, w1: 0, w2: 0, length: 0) }
            var w = [UInt64](repeating: 0, count: 3)
            for (i, x) in b.enumerated() { w[i / 8] |= UInt64(x) << (8 * UInt64(i % 8)) }
            return FastKey(w0: w[0], w1: w[1], w2: w[2], length: b.count)
        })
    }

    /// True when the `m ≤ 8` bytes at `p` equal the low bytes of `w` (the rest of `w` is 0).
    @inline(__always)
    static func wordEquals(_ p: UnsafeRawPointer, _ m: Int, _ w: UInt64, canOverRead: Bool) -> Bool {
        if m <= 0 { return true }
        if m == 8 { return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) == w }
        if canOverRead {
            let mask: UInt64 = (1 << (8 * UInt64(m))) - 1
            return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) & mask == w
        }
        return loadShort(p, m) == w
    }

    /// Parses the decimal digits at `b[i...]` into `m` (wrapping; callers bound the count),
    /// eight at a time while eight digits follow; returns the index after the last digit.
    @inline(__always)
    static func scanDigits(_ b: UnsafePointer<UInt8>, _ i0: Int, _ n: Int, _ m: inout UInt64) -> Int {
        var i = i0
        while i + 8 <= n {
            let w = UInt64(littleEndian: UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self))
            // all eight bytes in '0'...'9'
            guard w & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
                  (w &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { break }
            var v = w & 0x0F0F_0F0F_0F0F_0F0F
            v = (v &* 2561) >> 8 & 0x00FF_00FF_00FF_00FF
            v = (v &* 6_553_601) >> 16 & 0x0000_FFFF_0000_FFFF
            v = (v &* 42_949_672_960_001) >> 32
            m = m &* 100_000_000 &+ v
            i += 8
        }
        while i < n {
            let d = b[i] &- 48
            if d >= 10 { break }
            m = m &* 10 &+ UInt64(d)
            i += 1
        }
        return i
    }

    /// The index of the first byte at or after `i` that is a quote, a backslash or a control
    /// byte (or `n`), eight bytes at a time while eight remain.
    @inline(__always)
    static func scanPlainString(_ b: UnsafePointer<UInt8>, _ i0: Int, _ n: Int) -> Int {
        var i = i0
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= n {
            let w = UInt64(littleEndian: UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self))
            let q = w ^ (34 &* ones), k = w ^ (92 &* ones)
            // per byte: == '"', == '\\', < 0x20 (the lowest flagged byte is always a true match)
            let hit = ((q &- ones) & ~q | (k &- ones) & ~k | (w &- 0x20 &* ones) & ~w) & highs
            if hit != 0 { return i + hit.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n {
            let c = b[i]
            if c == 34 || c == 92 || c < 0x20 { return i }
            i += 1
        }
        return n
    }

    /// Decodes the record at `p[0..<n]` into `row` if it has the fast-path shape; false otherwise
    /// (partial writes to `row` and `strings` are then the caller's to roll back).
    @inline(__always)
    mutating func decodeFast(_ p: UnsafeRawPointer, _ n: Int, _ row: RowWriter, _ strings: inout ContiguousArray<UInt8>) -> Bool {
        let b = p.assumingMemoryBound(to: UInt8.self)
        guard n >= 2, b[0] == 123 else { return false }
        var i = 1
        var position = 0
        while true {
            guard position < predicted.count else { return false }
            let f = Int(predicted[position])
            guard f >= 0 else { return false }
            // the key, with its quotes and the colon
            let k = fastKeys[f]
            let kl = k.length
            guard kl > 0, i + kl <= n else { return false }
            let over = i + 24 <= n
            guard Self.wordEquals(p + i, Swift.min(8, kl), k.w0, canOverRead: over),
                  Self.wordEquals(p + i + 8, Swift.min(8, kl - 8), k.w1, canOverRead: over),
                  Self.wordEquals(p + i + 16, kl - 16, k.w2, canOverRead: over) else { return false }
            i += kl
            guard i < n else { return false }
            let fi = info[f]
            switch fi.type {
            case .int, .timestamp:
                var neg = false
                if b[i] == 45 { neg = true; i += 1 }
                let ds = i
                var m: UInt64 = 0
                i = Self.scanDigits(b, i, n, &m)
                let nd = i - ds
                // ≤ 15 digits: below 2^53, so a timestamp equals the general path's Double route
                guard nd >= 1 && nd <= 15 && (nd == 1 || b[ds] != 48) else { return false }
                let v = neg ? -Int64(m) : Int64(m)
                if fi.hasBounds && !(Double(v) >= fi.lo && Double(v) <= fi.hi) { return false }
                row.set(f, v)
            case .double:
                var neg = false
                if b[i] == 45 { neg = true; i += 1 }
                let ds = i
                var m: UInt64 = 0
                while i < n {
                    let d = b[i] &- 48
                    if d >= 10 { break }
                    m = m &* 10 &+ UInt64(d)
                    i += 1
                }
                let ni = i - ds
                guard ni >= 1 && (ni == 1 || b[ds] != 48) else { return false }
                var frac = 0
                if i < n && b[i] == 46 {
                    i += 1
                    let fs = i
                    while i < n {
                        let d = b[i] &- 48
                        if d >= 10 { break }
                        m = m &* 10 &+ UInt64(d)
                        i += 1
                    }
                    frac = i - fs
                    guard frac >= 1 else { return false }
                }
                // no truncation, exact mantissa: tokenValue's Clinger path, same operations
                guard ni + frac <= 18 && m <= 1 << 53 else { return false }
                var v: Double
                if m == 0 { v = 0 } else {
                    v = Double(m)
                    if frac > 0 { v /= weirExactPow10[frac] }
                }
                if neg { v = -v }
                if fi.hasBounds && !(v >= fi.lo && v <= fi.hi) { return false }
                row.set(f, Int64(bitPattern: v.bitPattern))
            case .string, .category:
                guard b[i] == 34 else { return false }
                i += 1
                let s = i
                i = Self.scanPlainString(b, i, n)
                guard i < n && b[i] == 34 else { return false }  // escapes, control bytes: general path
                let len = i - s
                i += 1
                if fi.type == .string {
                    let off = strings.count
                    strings.append(contentsOf: UnsafeRawBufferPointer(start: p + s, count: len))
                    row.set(f, Int64(bitPattern: (UInt64(off) << 32) | UInt64(len)))
                } else {
                    guard let id = categories[f].lookup(p + s, len, hash: weirHashBytes(p + s, len)) else { return false }
                    row.set(f, Int64(id))
                }
            case .bool:
                if i + 4 <= n && b[i] == 116 && b[i + 1] == 114 && b[i + 2] == 117 && b[i + 3] == 101 {
                    row.set(f, 1); i += 4
                } else if i + 5 <= n && b[i] == 102 && b[i + 1] == 97 && b[i + 2] == 108 && b[i + 3] == 115 && b[i + 4] == 101 {
                    row.set(f, 0); i += 5
                } else { return false }
            }
            guard i < n else { return false }
            let c = b[i]
            i += 1
            if c == 44 { position += 1; continue }
            guard c == 125 else { return false }
            break
        }
        while i < n {
            let c = b[i]
            guard c == 32 || c == 10 || c == 13 || c == 9 else { return false }
            i += 1
        }
        for f in 0..<required.count where required[f] && row.present[f] == 0 { return false }
        return true
    }
}
