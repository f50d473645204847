#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// HyperLogLog distinct-count sketch (Flajolet et al. 2007) over 64-bit hashes.
///
/// `2^precision` one-byte registers. Feed it hashes from ``StatsHash`` (or any well-mixed
/// 64-bit hash); the same value must always give the same hash. The estimate is Ertl's (2017)
/// improved raw estimator over the register histogram, which includes the small-range
/// (linear-counting) correction and stays unbiased through the mid range; with 64-bit hashes no
/// large-range correction is needed.
///
/// **Sparse until it grows.** A new sketch keeps only its non-zero registers, as a sorted list of
/// `(index, rank)` pairs (4 bytes each); past ``sparseLimit`` pairs (`m / 16`) it promotes to the
/// dense `m`-byte array. Both forms hold the same registers, so the estimate, merges and
/// equality do not depend on the form: a sketch of a handful of values costs a few dozen bytes
/// instead of `m` (a key seen a few times in a window is the common case of keyed state).
///
/// Relative standard error ≈ `1.04 / sqrt(2^precision)` (0.81% at the default precision 14).
/// Sketches merge exactly (register-wise max) when their precisions match.
/// - Complexity: `insert` O(1) dense, O(log s) plus an insertion shift of at most `m/16` pairs
///   sparse; allocation-free except when the sparse list grows or promotes; `estimate`
///   O(2^precision) dense, O(s) sparse, allocation-free; memory `m` bytes dense, `4·s` sparse.
public struct HyperLogLog: Sendable {
    /// Register-index bits, 4...18.
    public let precision: Int
    /// Dense registers; empty while the sketch is sparse.
    @usableFromInline var registers: [UInt8]
    /// Sparse form: `index << 8 | rank` for each non-zero register, sorted by index.
    @usableFromInline var sparse: [UInt32]

    /// Creates an empty (sparse) sketch.
    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `precision` is outside 4...18.
    public init(precision: Int = 14) throws(StatsError) {
        guard (4...18).contains(precision) else {
            throw .invalidParameter(name: "precision", detail: "\(precision) not in 4...18")
        }
        self.precision = precision
        registers = []
        sparse = []
    }

    /// Number of registers `m = 2^precision`.
    public var registerCount: Int { 1 << precision }

    /// Sparse pairs kept before the sketch promotes to dense registers (`m / 16`, at least 2).
    public var sparseLimit: Int { Swift.max(2, registerCount >> 4) }

    /// True while the sketch holds its registers as a sparse list.
    public var isSparse: Bool { registers.isEmpty }

    /// Bytes of register storage held (the dense array or the sparse list's capacity).
    public var storageBytes: Int { isSparse ? 4 * sparse.capacity : registers.count }

    /// The stated relative standard error, `1.04 / sqrt(m)`.
    public var relativeStandardError: Double { 1.04 / Double(registerCount).squareRoot() }

    /// Adds one hashed item.
    @inlinable
    public mutating func insert(hash: UInt64) {
        let p = UInt64(truncatingIfNeeded: precision)
        let index = Int(truncatingIfNeeded: hash >> (64 &- p))
        // Rank = position of the first 1 bit after the index bits; the sentinel bit caps it at 64-p+1.
        let w = (hash << p) | (UInt64(1) << (p &- 1))
        let rank = UInt8(truncatingIfNeeded: w.leadingZeroBitCount &+ 1)
        if registers.isEmpty {
            insertSparse(index: index, rank: rank)
        } else {
            registers.withUnsafeMutableBufferPointer { r in
                if rank > r[index] { r[index] = rank }
            }
        }
    }

    /// Raises register `index` to `rank` in the sparse list, promoting when it outgrows it.
    @usableFromInline
    mutating func insertSparse(index: Int, rank: UInt8) {
        let key = UInt32(truncatingIfNeeded: index) << 8
        // first pair whose index is ≥ index
        var lo = 0, hi = sparse.count
        sparse.withUnsafeBufferPointer { b in
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                if b[mid] & ~0xFF < key { lo = mid &+ 1 } else { hi = mid }
            }
        }
        if lo < sparse.count && sparse[lo] & ~0xFF == key {
            if UInt32(rank) > sparse[lo] & 0xFF { sparse[lo] = key | UInt32(rank) }
            return
        }
        if sparse.count >= sparseLimit {
            promote()
            registers[index] = rank
            return
        }
        sparse.insert(key | UInt32(rank), at: lo)
    }

    /// Switches to dense registers (same contents) and frees the sparse list.
    @usableFromInline
    mutating func promote() {
        var r = [UInt8](repeating: 0, count: registerCount)
        for e in sparse { r[Int(e >> 8)] = UInt8(truncatingIfNeeded: e) }
        registers = r
        sparse = []
    }

    /// Adds a `Double` (hashed with ``StatsHash/hash(_:)-(Double)``).
    @inlinable public mutating func insert(_ v: Double) { insert(hash: StatsHash.hash(v)) }
    /// Adds an `Int64` (hashed with ``StatsHash``).
    @inlinable public mutating func insert(_ v: Int64) { insert(hash: StatsHash.hash(v)) }

    /// True when nothing has been inserted.
    public var isEmpty: Bool { isSparse ? sparse.isEmpty : !registers.contains { $0 != 0 } }

    /// The register values, dense (for tests and comparisons; allocates `m` bytes).
    public var denseRegisters: [UInt8] {
        if !isSparse { return registers }
        var r = [UInt8](repeating: 0, count: registerCount)
        for e in sparse { r[Int(e >> 8)] = UInt8(truncatingIfNeeded: e) }
        return r
    }

    /// Estimated number of distinct items (Ertl 2017, "improved raw estimator"): uses the whole
    /// register histogram with the σ/τ corrections, which covers small (linear-counting) and
    /// mid-range cardinalities without the bias of the classic estimator near 2.5·m.
    /// The same registers give the same estimate, sparse or dense.
    public var estimate: Double {
        let q = 64 - precision
        let m = registerCount
        // the histogram lives on the stack: no allocation per estimate
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: q + 2) { hist in
            hist.initialize(repeating: 0)
            if isSparse {
                hist[0] = m - sparse.count
                for e in sparse { hist[Swift.min(Int(e & 0xFF), q + 1)] += 1 }
            } else {
                registers.withUnsafeBufferPointer { rb in
                    for r in rb { hist[Swift.min(Int(r), q + 1)] += 1 }
                }
            }
            if hist[0] == m { return 0 }
            let md = Double(m)
            var z = md * Self.tau(1 - Double(hist[q + 1]) / md)
            var k = q
            while k >= 1 {
                z += Double(hist[k])
                z *= 0.5
                k -= 1
            }
            z += md * Self.sigma(Double(hist[0]) / md)
            return (md / (2 * M_LN2)) * md / z
        }
    }

    /// σ(x) = x + Σ_{k≥1} x^(2^k)·2^(k−1), for 0 ≤ x < 1.
    static func sigma(_ x0: Double) -> Double {
        if x0 >= 1 { return .infinity }
        var x = x0, y = 1.0, z = x0
        while true {
            x *= x
            let prev = z
            z += x * y
            y += y
            if z == prev { return z }
        }
    }

    /// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))²·2^−k) / 3, for 0 ≤ x ≤ 1.
    static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0, y = 1.0, z = 1 - x0
        while true {
            x = x.squareRoot()
            let prev = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == prev { return z / 3 }
        }
    }

    /// Merges `other` into this sketch (register-wise max): the result estimates the union.
    /// - Throws: ``StatsError/mismatchedConfiguration(detail:)`` when precisions differ.
    public mutating func merge(_ other: HyperLogLog) throws(StatsError) {
        guard other.precision == precision else {
            throw .mismatchedConfiguration(detail: "HyperLogLog precision \(precision) vs \(other.precision)")
        }
        if other.isSparse {
            if isSparse {
                for (n, e) in other.sparse.enumerated() {
                    insertSparse(index: Int(e >> 8), rank: UInt8(truncatingIfNeeded: e))
                    if !isSparse {  // promoted midway: the rest goes to the registers
                        for e in other.sparse[(n + 1)...] {
                            let i = Int(e >> 8), v = UInt8(truncatingIfNeeded: e)
                            if v > registers[i] { registers[i] = v }
                        }
                        break
                    }
                }
            } else {
                registers.withUnsafeMutableBufferPointer { r in
                    for e in other.sparse {
                        let i = Int(e >> 8), v = UInt8(truncatingIfNeeded: e)
                        if v > r[i] { r[i] = v }
                    }
                }
            }
            return
        }
        if isSparse { promote() }
        registers.withUnsafeMutableBufferPointer { r in
            other.registers.withUnsafeBufferPointer { o in
                for i in 0..<r.count where o[i] > r[i] { r[i] = o[i] }
            }
        }
    }

    /// Empties the sketch, keeping its storage and form (a dense sketch stays dense: reused
    /// scratch sketches do not reallocate).
    public mutating func reset() {
        if isSparse {
            sparse.removeAll(keepingCapacity: true)
        } else {
            registers.withUnsafeMutableBufferPointer { r in for i in 0..<r.count { r[i] = 0 } }
        }
    }

    /// Empties the sketch and frees its storage: it is sparse and empty again.
    public mutating func clear() {
        registers = []
        sparse = []
    }
}

extension HyperLogLog: Equatable {
    /// Equal when the precisions and the registers are equal, whatever the form.
    public static func == (a: HyperLogLog, b: HyperLogLog) -> Bool {
        guard a.precision == b.precision else { return false }
        if a.isSparse && b.isSparse { return a.sparse == b.sparse }
        return a.denseRegisters == b.denseRegisters
    }
}

extension HyperLogLog: ByteSerializable {
    /// Version 2: precision, a form byte (0 sparse, 1 dense), then the sparse pairs or the
    /// registers. Version 1 (always dense) is still read.
    public func serialize(into writer: inout ByteWriter) {
        writer.writeHeader(tag: "WHLL", version: 2)
        writer.write(UInt8(precision))
        if isSparse {
            writer.write(UInt8(0))
            writer.write(UInt32(sparse.count))
            for e in sparse { writer.write(e) }
        } else {
            writer.write(UInt8(1))
            writer.writeBytes(registers)
        }
    }

    public init(deserializing reader: inout ByteReader) throws(SerializationError) {
        let version = try reader.readHeader(tag: "WHLL", supportedVersions: 1...2)
        let p = Int(try reader.readUInt8())
        guard (4...18).contains(p) else { throw .invalidValue(field: "HyperLogLog.precision", detail: "\(p)") }
        precision = p
        registers = []
        sparse = []
        let form: UInt8 = try version == 1 ? 1 : reader.readUInt8()
        switch form {
        case 0:
            let n = Int(try reader.readUInt32())
            guard n <= sparseLimit else {
                throw .invalidValue(field: "HyperLogLog.sparse", detail: "\(n) pairs, more than \(sparseLimit) for precision \(p)")
            }
            sparse.reserveCapacity(n)
            var previous: Int = -1
            for _ in 0..<n {
                let e = try reader.readUInt32()
                let i = Int(e >> 8), r = Int(e & 0xFF)
                guard i < 1 << p, i > previous, r >= 1, r <= 65 - p else {
                    throw .invalidValue(field: "HyperLogLog.sparse", detail: "pair (index \(i), rank \(r)) out of order or range")
                }
                previous = i
                sparse.append(e)
            }
        case 1:
            let regs = try reader.readBytes(field: "HyperLogLog.registers")
            guard regs.count == 1 << p else {
                throw .invalidValue(field: "HyperLogLog.registers", detail: "\(regs.count) registers for precision \(p)")
            }
            guard !regs.contains(where: { Int($0) > 65 - p }) else {
                throw .invalidValue(field: "HyperLogLog.registers", detail: "rank above \(65 - p)")
            }
            registers = regs
        default:
            throw .invalidValue(field: "HyperLogLog.form", detail: "\(form)")
        }
    }
}
