/// A byte codec for checkpoint state that removes runs of zero bytes (sketch registers, unused
/// slots and little-endian integers are mostly zeros). Format: repeated
/// `[literal count: varint][literal bytes][zero run: varint]`; the last group may end after its
/// literals. Not a general compressor: cheap (one pass, no tables) and exact.
/// - Complexity: O(n) both ways.
enum ZeroRunLength {
    /// Zero runs shorter than this stay literal (a run costs a varint and a new group).
    static let minRun = 4

    /// Packs `input`. Writes into one buffer sized for the worst case (no per-group appends) and
    /// skips 8 bytes at a time through data with no zero byte.
    static func pack(_ input: [UInt8]) -> [UInt8] {
        let n = input.count
        if n == 0 { return [] }
        // Every group after the first follows a zero run of ≥ minRun bytes, so there are at most
        // n / minRun + 1 groups, each adding two varints (≤ 10 bytes each) to its literals.
        let capacity = n + 20 * (n / minRun + 1)
        return input.withUnsafeBufferPointer { p in
            [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
                var o = 0
                @inline(__always) func varint(_ value: Int) {
                    var v = UInt64(value)
                    while v >= 0x80 { out[o] = UInt8(v & 0x7F) | 0x80; o += 1; v >>= 7 }
                    out[o] = UInt8(v); o += 1
                }
                let base = UnsafeRawPointer(p.baseAddress!)
                var i = 0
                while i < n {
                    // Literals up to the next run of ≥ minRun zeros (or of zeros reaching the end).
                    let start = i
                    var runStart = n
                    var j = i
                    while j < n {
                        if j + 8 <= n {
                            let w = base.loadUnaligned(fromByteOffset: j, as: UInt64.self)
                            // no zero byte in these 8 bytes: no run starts in them
                            if (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 == 0 { j += 8; continue }
                        }
                        if p[j] == 0 {
                            var k = j
                            while k < n && p[k] == 0 && k - j < minRun { k += 1 }
                            if k - j >= minRun || k == n { runStart = j; break }
                            j = k
                        } else {
                            j += 1
                        }
                    }
                    varint(runStart - start)
                    if runStart > start {
                        (out.baseAddress! + o).update(from: p.baseAddress! + start, count: runStart - start)
                        o += runStart - start
                    }
                    var k = runStart
                    while k < n && p[k] == 0 { k += 1 }
                    varint(k - runStart)
                    i = k
                }
                written = o
            }
        }
    }

    /// - Throws: ``CheckpointError/damaged(what:detail:)`` on malformed input or a size mismatch.
    static func unpack(_ input: [UInt8], expectedCount: Int) throws(CheckpointError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(expectedCount)
        var i = 0
        func varint() throws(CheckpointError) -> Int {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < input.count, shift < 63 else { throw .damaged(what: "state", detail: "bad varint at \(i)") }
                let b = input[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            guard v <= UInt64(expectedCount) else { throw .damaged(what: "state", detail: "run of \(v) exceeds \(expectedCount)") }
            return Int(v)
        }
        while i < input.count {
            let lit = try varint()
            guard lit <= input.count - i, out.count + lit <= expectedCount else { throw .damaged(what: "state", detail: "literal run past the end") }
            out.append(contentsOf: input[i..<(i + lit)])
            i += lit
            if i == input.count { break }
            let zeros = try varint()
            guard out.count + zeros <= expectedCount else { throw .damaged(what: "state", detail: "zero run past the end") }
            out.append(contentsOf: repeatElement(0, count: zeros))
        }
        guard out.count == expectedCount else { throw .damaged(what: "state", detail: "\(out.count) bytes unpacked, \(expectedCount) expected") }
        return out
    }
}
