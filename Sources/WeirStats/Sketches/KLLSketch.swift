#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// KLL quantile sketch (Karnin, Lang, Liberty 2016), the compactor design of Apache DataSketches.
///
/// Level `h` holds items of weight `2^h`; level capacities shrink geometrically (factor 2/3) below
/// the top level, which has capacity `k`, with a floor of 8. When the sketch is full, the lowest
/// full level is sorted and every other item (random offset from a seeded SplitMix64) moves up a
/// level. Levels above 0 are kept sorted. Deterministic given `seed` and the input order.
///
/// Normalised rank error (99% confidence, the DataSketches fit for this algorithm):
/// `ε ≈ 2.296 / k^0.9723` for ``rank(_:)`` and ``quantile(_:)`` (k = 200: ≈ 1.33%).
/// See ``rankErrorBound``. Sketches with the same `k` merge; the merged sketch has the same bound
/// over the union.
///
/// NaN is not inserted (counted in ``nanCount``); ±Inf are ordinary values.
/// - Complexity: `insert` amortised O(log k) and allocation-free once the level arrays have grown
///   (they grow O(log k + log(n/k)) times over the sketch's life, from empty); memory
///   O(min(n, k) + log n) doubles;
///   `quantile` O(s log s) for s retained items (use ``sortedView()`` for many queries).
public struct KLLSketch: Sendable, Equatable {
    /// Size parameter (8...65535); larger is more accurate.
    public let k: Int
    @usableFromInline var levels: [[Double]]
    @usableFromInline var retained: Int
    @usableFromInline var capacityTotal: Int
    @usableFromInline var rng: SplitMix64
    @usableFromInline var scratch: [Double]
    @usableFromInline var count_: Int
    @usableFromInline var nanCount_: Int
    /// Values inserted (NaN excluded).
    public var count: Int { count_ }
    /// NaN values offered to ``insert(_:)`` and ignored.
    public var nanCount: Int { nanCount_ }
    @usableFromInline var minValue: Double
    @usableFromInline var maxValue: Double

    /// Creates an empty sketch.
    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `k` is outside 8...65535.
    public init(k: Int = 200, seed: UInt64 = 0x5EED_4B11) throws(StatsError) {
        guard (8...65535).contains(k) else {
            throw .invalidParameter(name: "k", detail: "\(k) not in 8...65535")
        }
        self.k = k
        // level 0 and the scratch grow with the items (a sketch of a few values costs a few
        // doubles, not k): keyed windows hold many small sketches
        levels = [[]]
        retained = 0
        rng = SplitMix64(seed: seed)
        scratch = []
        count_ = 0
        nanCount_ = 0
        minValue = .infinity
        maxValue = -.infinity
        capacityTotal = 0
        capacityTotal = computeTotalCapacity()
    }

    /// The smallest value inserted, or nil when empty.
    public var min: Double? { count > 0 ? minValue : nil }
    /// The largest value inserted, or nil when empty.
    public var max: Double? { count > 0 ? maxValue : nil }
    /// True when no value has been inserted.
    public var isEmpty: Bool { count == 0 }
    /// Items currently retained.
    public var retainedCount: Int { retained }

    /// Bytes of storage held by the levels and the compaction scratch.
    public var storageBytes: Int { 8 * (levels.reduce(scratch.capacity) { $0 + $1.capacity }) }

    /// The 99%-confidence normalised rank error for this `k`: `2.296 / k^0.9723`.
    public var rankErrorBound: Double { Self.rankErrorBound(k: k) }

    /// The 99%-confidence normalised rank error for `k`.
    public static func rankErrorBound(k: Int) -> Double { 2.296 / pow(Double(k), 0.9723) }

    @inlinable
    static func levelCapacity(k: Int, numLevels: Int, height: Int) -> Int {
        let depth = numLevels - height - 1
        var c = Double(k)
        for _ in 0..<depth { c *= 2.0 / 3.0 }
        return Swift.max(8, Int(c.rounded()))
    }

    @usableFromInline
    func computeTotalCapacity() -> Int {
        var t = 0
        for h in 0..<levels.count { t += Self.levelCapacity(k: k, numLevels: levels.count, height: h) }
        return t
    }

    /// Adds a value. NaN is counted and ignored.
    @inlinable
    public mutating func insert(_ x: Double) {
        if x.isNaN { nanCount_ += 1; return }
        if x < minValue { minValue = x }
        if x > maxValue { maxValue = x }
        count_ += 1
        levels[0].append(x)
        retained += 1
        if retained >= capacityTotal { compress() }
    }

    /// Compacts until the sketch is within capacity.
    @usableFromInline
    mutating func compress() {
        while retained >= capacityTotal {
            var h = 0
            while h < levels.count
                && levels[h].count < Self.levelCapacity(k: k, numLevels: levels.count, height: h) { h += 1 }
            if h >= levels.count { return }  // unreachable while retained >= capacityTotal
            compact(level: h)
        }
    }

    /// Moves half of level `h` (every other sorted item) to level `h + 1`.
    @usableFromInline
    mutating func compact(level h: Int) {
        if h + 1 == levels.count {
            levels.append([])
            levels[h + 1].reserveCapacity(k)
            capacityTotal = computeTotalCapacity()
        }
        if h == 0 { levels[0].withUnsafeMutableBufferPointer { InPlaceSort.sort($0) } }
        let c = levels[h].count
        let keep = c & 1  // an odd item stays at the bottom of level h
        let offset = Int(rng.next() >> 63)
        scratch.removeAll(keepingCapacity: true)
        var i = keep + offset
        while i < c {
            scratch.append(levels[h][i])
            i += 2
        }
        levels[h].removeLast(c - keep)
        retained -= c - keep - scratch.count
        Self.mergeSorted(into: &levels[h + 1], from: scratch)
    }

    /// Merges sorted `src` into sorted `dst` in place (backward merge; grows `dst` by `src.count`).
    @usableFromInline
    static func mergeSorted(into dst: inout [Double], from src: [Double]) {
        let n1 = dst.count
        let n2 = src.count
        if n2 == 0 { return }
        for _ in 0..<n2 { dst.append(0) }
        dst.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { s in
                var i = n1 - 1, j = n2 - 1, o = n1 + n2 - 1
                while j >= 0 {
                    if i >= 0 && d[i] > s[j] {
                        d[o] = d[i]; i -= 1
                    } else {
                        d[o] = s[j]; j -= 1
                    }
                    o -= 1
                }
            }
        }
    }

    /// Approximate normalised rank of `x`: the weighted share of values `<= x` (the CDF at `x`).
    /// Returns 0 when empty.
    public func rank(_ x: Double) -> Double {
        guard count > 0 else { return 0 }
        var w = 0
        for h in levels.indices {
            var c = 0
            for v in levels[h] where v <= x { c += 1 }
            w += c << h
        }
        return Double(w) / Double(count)
    }

    /// Same as ``rank(_:)``.
    public func cdf(_ x: Double) -> Double { rank(x) }

    /// Approximate `q`-quantile: the smallest retained value whose cumulative weight reaches
    /// `q·count`; `q = 0` gives the exact minimum and `q = 1` the exact maximum.
    /// Returns nil when the sketch is empty or `q` is not in [0, 1].
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, q >= 0, q <= 1 else { return nil }
        return sortedView().quantile(q)
    }

    /// A sorted, cumulative-weight view for many quantile/rank queries.
    public func sortedView() -> KLLSortedView {
        var pairs: [(Double, Int)] = []
        pairs.reserveCapacity(retained)
        for h in levels.indices { for v in levels[h] { pairs.append((v, 1 << h)) } }
        pairs.sort { $0.0 < $1.0 }
        var items = [Double](); items.reserveCapacity(pairs.count)
        var cum = [Int](); cum.reserveCapacity(pairs.count)
        var acc = 0
        for (v, w) in pairs { acc += w; items.append(v); cum.append(acc) }
        return KLLSortedView(items: items, cumulativeWeights: cum, minValue: minValue, maxValue: maxValue)
    }

    /// Merges `other` into this sketch; the result summarises both streams.
    /// - Throws: ``StatsError/mismatchedConfiguration(detail:)`` when `k` differs.
    public mutating func merge(_ other: KLLSketch) throws(StatsError) {
        guard other.k == k else {
            throw .mismatchedConfiguration(detail: "KLLSketch k \(k) vs \(other.k)")
        }
        guard other.count > 0 else { nanCount_ += other.nanCount; return }
        while levels.count < other.levels.count {
            levels.append([])
        }
        capacityTotal = computeTotalCapacity()
        levels[0].append(contentsOf: other.levels[0])
        for h in 1..<Swift.max(1, other.levels.count) where !other.levels[h].isEmpty {
            Self.mergeSorted(into: &levels[h], from: other.levels[h])
        }
        retained += other.retained
        count_ += other.count
        nanCount_ += other.nanCount
        minValue = Swift.min(minValue, other.minValue)
        maxValue = Swift.max(maxValue, other.maxValue)
        compress()
    }
}

/// Sorted items of a ``KLLSketch`` with cumulative weights, for repeated queries.
/// - Complexity: `quantile` and `rank` O(log s).
public struct KLLSortedView: Sendable {
    public let items: [Double]
    public let cumulativeWeights: [Int]
    let minValue: Double
    let maxValue: Double

    /// Total weight (= the sketch's count).
    public var totalWeight: Int { cumulativeWeights.last ?? 0 }

    /// See ``KLLSketch/quantile(_:)``.
    public func quantile(_ q: Double) -> Double? {
        guard let total = cumulativeWeights.last, total > 0, q >= 0, q <= 1 else { return nil }
        if q == 0 { return minValue }
        if q == 1 { return maxValue }
        let target = q * Double(total)
        var lo = 0, hi = items.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if Double(cumulativeWeights[mid]) >= target { hi = mid } else { lo = mid + 1 }
        }
        return items[lo]
    }

    /// See ``KLLSketch/rank(_:)``.
    public func rank(_ x: Double) -> Double {
        guard let total = cumulativeWeights.last, total > 0 else { return 0 }
        var lo = 0, hi = items.count  // first index with item > x
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : Double(cumulativeWeights[lo - 1]) / Double(total)
    }
}

extension KLLSketch: ByteSerializable {
    public func serialize(into writer: inout ByteWriter) {
        writer.writeHeader(tag: "WKLL", version: 1)
        writer.write(UInt32(k))
        writer.write(rng.state)
        writer.write(count)
        writer.write(nanCount)
        writer.write(minValue)
        writer.write(maxValue)
        writer.write(UInt32(levels.count))
        for level in levels { writer.write(level) }
    }

    public init(deserializing reader: inout ByteReader) throws(SerializationError) {
        try reader.readHeader(tag: "WKLL", supportedVersions: 1...1)
        let k = Int(try reader.readUInt32())
        guard (8...65535).contains(k) else { throw .invalidValue(field: "KLLSketch.k", detail: "\(k)") }
        self.k = k
        rng = SplitMix64(seed: try reader.readUInt64())
        count_ = try reader.readInt()
        nanCount_ = try reader.readInt()
        minValue = try reader.readDouble()
        maxValue = try reader.readDouble()
        let nl = Int(try reader.readUInt32())
        guard (1...61).contains(nl) else { throw .invalidValue(field: "KLLSketch.levels", detail: "\(nl) levels") }
        levels = []
        var r = 0
        var weight = 0
        for h in 0..<nl {
            var lv = try reader.readDoubles(field: "KLLSketch.level\(h)")
            r += lv.count
            let (w, o1) = lv.count.multipliedReportingOverflow(by: 1 << h)
            let (sum, o2) = weight.addingReportingOverflow(w)
            guard !o1, !o2 else { throw .invalidValue(field: "KLLSketch.level\(h)", detail: "weight overflow") }
            weight = sum
            levels.append(lv)
        }
        guard weight == count_, count_ >= 0, nanCount_ >= 0 else {
            throw .invalidValue(field: "KLLSketch.count", detail: "weights \(weight) vs count \(count_)")
        }
        retained = r
        scratch = []
        capacityTotal = 0
        capacityTotal = computeTotalCapacity()
    }

    public static func == (a: KLLSketch, b: KLLSketch) -> Bool {
        a.k == b.k && a.levels == b.levels && a.rng == b.rng && a.count == b.count && a.nanCount == b.nanCount
            && a.minValue.bitPattern == b.minValue.bitPattern && a.maxValue.bitPattern == b.maxValue.bitPattern
    }
}
