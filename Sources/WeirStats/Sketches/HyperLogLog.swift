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
/// Relative standard error ≈ `1.04 / sqrt(2^precision)` (0.81% at the default precision 14).
/// Sketches merge exactly (register-wise max) when their precisions match.
/// - Complexity: `insert` O(1), allocation-free; `estimate` O(2^precision); memory 2^precision bytes.
public struct HyperLogLog: Sendable, Equatable {
    /// Register-index bits, 4...18.
    public let precision: Int
    @usableFromInline var registers: [UInt8]

    /// Creates an empty sketch.
    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `precision` is outside 4...18.
    public init(precision: Int = 14) throws(StatsError) {
        guard (4...18).contains(precision) else {
            throw .invalidParameter(name: "precision", detail: "\(precision) not in 4...18")
        }
        self.precision = precision
        registers = [UInt8](repeating: 0, count: 1 << precision)
    }

    /// Number of registers `m = 2^precision`.
    public var registerCount: Int { registers.count }

    /// The stated relative standard error, `1.04 / sqrt(m)`.
    public var relativeStandardError: Double { 1.04 / Double(registers.count).squareRoot() }

    /// Adds one hashed item.
    @inlinable
    public mutating func insert(hash: UInt64) {
        let p = UInt64(truncatingIfNeeded: precision)
        let index = Int(truncatingIfNeeded: hash >> (64 &- p))
        // Rank = position of the first 1 bit after the index bits; the sentinel bit caps it at 64-p+1.
        let w = (hash << p) | (UInt64(1) << (p &- 1))
        let rank = UInt8(truncatingIfNeeded: w.leadingZeroBitCount &+ 1)
        registers.withUnsafeMutableBufferPointer { r in
            if rank > r[index] { r[index] = rank }
        }
    }

    /// Adds a `Double` (hashed with ``StatsHash/hash(_:)-(Double)``).
    @inlinable public mutating func insert(_ v: Double) { insert(hash: StatsHash.hash(v)) }
    /// Adds an `Int64` (hashed with ``StatsHash``).
    @inlinable public mutating func insert(_ v: Int64) { insert(hash: StatsHash.hash(v)) }

    /// True when nothing has been inserted.
    public var isEmpty: Bool { !registers.contains { $0 != 0 } }

    /// Estimated number of distinct items (Ertl 2017, "improved raw estimator"): uses the whole
    /// register histogram with the σ/τ corrections, which covers small (linear-counting) and
    /// mid-range cardinalities without the bias of the classic estimator near 2.5·m.
    public var estimate: Double {
        let q = 64 - precision
        var hist = [Int](repeating: 0, count: q + 2)
        for r in registers { hist[Swift.min(Int(r), q + 1)] += 1 }
        let m = Double(registers.count)
        if hist[0] == registers.count { return 0 }
        var z = m * Self.tau(1 - Double(hist[q + 1]) / m)
        var k = q
        while k >= 1 {
            z += Double(hist[k])
            z *= 0.5
            k -= 1
        }
        z += m * Self.sigma(Double(hist[0]) / m)
        return (m / (2 * M_LN2)) * m / z
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
        for i in registers.indices where other.registers[i] > registers[i] {
            registers[i] = other.registers[i]
        }
    }

    /// Empties the sketch, keeping its storage.
    public mutating func reset() {
        for i in registers.indices { registers[i] = 0 }
    }
}

extension HyperLogLog: ByteSerializable {
    public func serialize(into writer: inout ByteWriter) {
        writer.writeHeader(tag: "WHLL", version: 1)
        writer.write(UInt8(precision))
        writer.writeBytes(registers)
    }

    public init(deserializing reader: inout ByteReader) throws(SerializationError) {
        try reader.readHeader(tag: "WHLL", supportedVersions: 1...1)
        let p = Int(try reader.readUInt8())
        guard (4...18).contains(p) else { throw .invalidValue(field: "HyperLogLog.precision", detail: "\(p)") }
        let regs = try reader.readBytes(field: "HyperLogLog.registers")
        guard regs.count == 1 << p else {
            throw .invalidValue(field: "HyperLogLog.registers", detail: "\(regs.count) registers for precision \(p)")
        }
        guard !regs.contains(where: { Int($0) > 65 - p }) else {
            throw .invalidValue(field: "HyperLogLog.registers", detail: "rank above \(65 - p)")
        }
        precision = p
        registers = regs
    }
}
