import WeirStats

/// A byte codec for checkpoint state that removes runs of zero bytes (sketch registers, unused
/// slots and little-endian integers are mostly zeros). Format: repeated
/// `[literal count: varint][literal bytes][zero run: varint]`; the last group may end after its
/// literals. Not a general compressor: cheap (one pass, no tables) and exact.
/// - Complexity: O(n) both ways.
enum ZeroRunLength {
    /// Zero runs shorter than this stay literal (a run costs a varint and a new group).
    static let minRun = 4

    static func pack(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        input.withUnsafeBufferPointer { pack($0, appendingTo: &out) }
        return out
    }

    /// The packing of `n` bytes is at most this long. Every group but the last removes a zero
    /// run of Z ≥ 4 bytes, and its zero-run varint takes at most Z − 3 of them, so it grows the
    /// output only when its literal count's varint has 4 or more bytes (at least 2^21 literals):
    /// by at most 7 bytes, in at most n / 2^21 groups. The last group adds at most 11 (two
    /// varints).
    static func bound(_ n: Int) -> Int { n + 32 + (n >> 18) }

    /// Appends the packing of `p` to `out` (reserving ``bound(_:)`` first, so it is never
    /// regrown). Packings of consecutive slices, concatenated, unpack to the slices concatenated
    /// (every group ends with its zero-run count), so a large state can be packed slice by slice
    /// straight into the records that carry it.
    static func pack(_ p: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) {
        out.reserveCapacity(out.count + bound(p.count))
        let n = p.count
        var i = 0
        while i < n {
            // Literals up to the next run of >= minRun zeros.
            let start = i
            var runStart = n
            var j = i
            while j < n {
                if p[j] == 0 {
                    var k = j
                    while k < n && p[k] == 0 && k - j < minRun { k += 1 }
                    if k - j >= minRun || k == n { runStart = j; break }
                    j = k
                } else {
                    j += 1
                }
            }
            ByteWriter.appendVarint(UInt64(runStart - start), into: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<runStart]))
            var k = runStart
            while k < n && p[k] == 0 { k += 1 }
            ByteWriter.appendVarint(UInt64(k - runStart), into: &out)
            i = k
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
