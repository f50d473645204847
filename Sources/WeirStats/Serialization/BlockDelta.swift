#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes written as the changes to a base they share a layout with: the `blockSize`-byte blocks
/// that differ from the base's block at the same offset, in runs. For state that is serialized
/// whole but changes in few places between two checkpoints (a model's weights and ring buffers),
/// an increment then holds what changed, not all of it.
///
/// Format: varint length of the bytes, varint block size, varint run count, then per run the
/// varint number of blocks skipped since the last run, the varint number of blocks in the run
/// and their bytes (the last block of the bytes may be short). Blocks past the base's end are
/// always written.
/// - Complexity: O(n) to write (one comparison pass) and to read (one copy of the base).
public enum BlockDelta {
    /// Appends `bytes` as changes to `base`.
    public static func write(_ bytes: [UInt8], base: [UInt8], blockSize: Int = 64, into w: inout ByteWriter) {
        let size = max(1, blockSize)
        let n = bytes.count, blocks = (n + size - 1) / size
        var runs: [(start: Int, count: Int)] = []
        bytes.withUnsafeBufferPointer { cur in
            base.withUnsafeBufferPointer { old in
                func changed(_ b: Int) -> Bool {
                    let lo = b * size, hi = min(lo + size, n)
                    guard hi <= old.count else { return true }
                    return memcmp(cur.baseAddress! + lo, old.baseAddress! + lo, hi - lo) != 0
                }
                var b = 0
                while b < blocks {
                    guard changed(b) else { b += 1; continue }
                    var e = b + 1
                    while e < blocks && changed(e) { e += 1 }
                    runs.append((b, e - b))
                    b = e
                }
            }
        }
        w.writeVarint(UInt64(n)); w.writeVarint(UInt64(size)); w.writeVarint(UInt64(runs.count))
        var next = 0
        for run in runs {
            w.writeVarint(UInt64(run.start - next)); w.writeVarint(UInt64(run.count))
            let lo = run.start * size, hi = min((run.start + run.count) * size, n)
            w.bytes.append(contentsOf: bytes[lo..<hi])
            next = run.start + run.count
        }
    }

    /// A flag, then `bytes` whole (0, length-prefixed) or, given a `base`, as the changes to it
    /// (1, ``write(_:base:blockSize:into:)``): for state an increment writes as changes when the
    /// writer holds its bytes at the base.
    public static func writeFlagged(_ bytes: [UInt8], base: [UInt8]?, into w: inout ByteWriter) {
        if let base {
            w.write(UInt8(1)); write(bytes, base: base, into: &w)
        } else {
            w.write(UInt8(0)); w.writeBytes(bytes)
        }
    }

    /// The bytes ``writeFlagged(_:base:into:)`` wrote; `base` is asked for only when they are
    /// changes (nil: the reader holds none).
    /// - Throws: ``SerializationError`` naming `field` for an unknown flag, changes without a
    ///   base, or as ``read(_:base:field:)``.
    public static func readFlagged(_ r: inout ByteReader, field: String, base: () -> [UInt8]?) throws(SerializationError) -> [UInt8] {
        switch try r.readUInt8() {
        case 0: return try r.readBytes(field: field)
        case 1:
            guard let b = base() else { throw .invalidValue(field: field, detail: "changes without their base") }
            return try read(&r, base: b, field: field)
        case let k: throw .invalidValue(field: field, detail: "encoding \(k)")
        }
    }

    /// The bytes ``write(_:base:blockSize:into:)`` wrote against `base`.
    /// - Throws: ``SerializationError`` when the runs leave the bytes or leave a block past the
    ///   base's end unwritten (the base is not the one written against), or the input is short.
    public static func read(_ r: inout ByteReader, base: [UInt8], field: String) throws(SerializationError) -> [UInt8] {
        let n = try r.readVarintCount(field: field + ".length", limit: Int(Int32.max))
        let size = try r.readVarintCount(field: field + ".block", limit: 1 << 20)
        guard size >= 1 else { throw .invalidValue(field: field, detail: "block size 0") }
        let runs = try r.readVarintCount(field: field + ".runs", limit: n / size + 1)
        var out = Array(base.prefix(n))
        // Blocks from here on are not in the base and must each be in a run.
        var uncovered = out.count
        if out.count < n { out.append(contentsOf: repeatElement(0, count: n - out.count)) }
        var next = 0
        for _ in 0..<runs {
            let start = next + (try r.readVarintCount(field: field + ".skip", limit: n / size + 1))
            let count = try r.readVarintCount(field: field + ".count", limit: n / size + 1)
            let lo = start * size, hi = min((start + count) * size, n)
            guard count >= 1, lo < n, lo <= uncovered else {
                throw .invalidValue(field: field, detail: "changes to \(n) bytes do not fit a base of \(base.count) bytes (run of \(count) blocks at block \(start)): not the base they were written against")
            }
            let chunk = try r.readRaw(count: hi - lo, field: field + ".bytes")
            out.replaceSubrange(lo..<hi, with: chunk)
            if hi > uncovered { uncovered = hi }
            next = start + count
        }
        guard uncovered >= n else {
            throw .invalidValue(field: field, detail: "bytes \(uncovered)..<\(n) are in neither the base (\(base.count) bytes) nor a change: not the base they were written against")
        }
        return out
    }
}
