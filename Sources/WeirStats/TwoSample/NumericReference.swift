/// A numeric reference sample prepared once for repeated comparisons against current windows.
///
/// Holds the sorted sample, PSI bin edges `unique(numpy.quantile(ref, [1/b, …, (b−1)/b]))`
/// (linear interpolation, bit-for-bit numpy's formula), per-bin counts and shares (bin `i` holds
/// values `v` with exactly `i` edges `<= v`, so the outer bins are open-ended), and the mean and
/// population standard deviation (ddof 0).
///
/// Invariants: non-empty, every value finite, `sorted` ascending, `edges` strictly ascending with
/// `1 <= edges.count <= bins − 1` (a constant reference has one edge and two bins).
/// - Complexity: building O(n log n) (O(n) from a sorted sample); memory O(n).
public struct NumericReference: Sendable, Equatable {
    /// The reference values, ascending.
    public let sorted: [Double]
    /// The requested number of quantile bins (≥ 2).
    public let bins: Int
    /// Distinct PSI bin edges, ascending.
    public let edges: [Double]
    /// Reference count per bin (`edges.count + 1` bins).
    public let binCounts: [Int]
    /// Arithmetic mean.
    public let mean: Double
    /// Population standard deviation (ddof 0); 0 for a constant reference.
    public let standardDeviation: Double
    /// How the reference was built: from raw values, or approximated from a quantile sketch.
    public let source: Source

    /// Where a reference's values come from.
    public enum Source: Sendable, Equatable {
        /// The raw sample: every statistic is exact (scipy-equal).
        case exact
        /// A quantile grid read from a ``KLLSketch`` of `count` values with normalised rank error
        /// `rankError`: the reference CDF is within about `rankError + 1/(2·gridSize)` of the true one,
        /// so KS `D` is within that of the exact `D`; the KS p-value uses `count`.
        case sketch(count: Int, rankError: Double)
    }

    /// Number of reference values (for a sketch-backed reference, the sketch's count).
    public var count: Int {
        if case .sketch(let n, _) = source { return n }
        return sorted.count
    }
    /// Reference share per bin (no floor applied).
    public var binShares: [Double] { binCounts.map { Double($0) / Double(sorted.count) } }

    /// Builds a reference from values in any order.
    /// - Throws: ``StatsError/emptySample(which:)``, ``StatsError/nonFiniteValue(which:index:)``
    ///   (filter and count NaN/±Inf before calling), ``StatsError/invalidParameter(name:detail:)``
    ///   when `bins` is outside 2...10_000.
    public init(sample: [Double], bins: Int = 10) throws(StatsError) {
        try Self.validate(sample, which: "reference")
        var s = sample
        InPlaceSort.sort(&s)
        try self.init(validatedSorted: s, bins: bins, source: .exact)
    }

    /// Builds an approximate reference from a quantile sketch (for references beyond a size cap).
    ///
    /// If the sketch never compacted (all its values are retained with weight 1) the reference is
    /// exact. Otherwise the sample is the grid of `gridSize` mid-quantiles `(i + ½)/gridSize`, and
    /// ``source`` records the sketch's count and rank error. Pass the stream's `moments` to keep the
    /// mean and standard deviation exact (otherwise they are the grid's).
    /// - Throws: ``StatsError/emptySample(which:)`` for an empty sketch, ``StatsError/nonFiniteValue(which:index:)``
    ///   if it holds ±Inf, ``StatsError/invalidParameter(name:detail:)`` for `bins` or `gridSize` < 2.
    public init(sketch: KLLSketch, bins: Int = 10, gridSize: Int = 100_000, moments: RunningMoments? = nil) throws(StatsError) {
        guard sketch.count > 0 else { throw .emptySample(which: "reference") }
        guard gridSize >= 2 else { throw .invalidParameter(name: "gridSize", detail: "\(gridSize) < 2") }
        let view = sketch.sortedView()
        if view.items.count == sketch.count {
            try self.init(sortedSample: view.items, bins: bins)
            return
        }
        var grid = [Double]()
        grid.reserveCapacity(gridSize)
        for i in 0..<gridSize { grid.append(view.quantile((Double(i) + 0.5) / Double(gridSize)) ?? 0) }
        try Self.validate(grid, which: "reference")
        var meanStd: (Double, Double)?
        if let m = moments, m.count > 0, m.mean.isFinite, m.variance.isFinite { meanStd = (m.mean, m.variance.squareRoot()) }
        try self.init(validatedSorted: grid, bins: bins,
                      source: .sketch(count: sketch.count, rankError: sketch.rankErrorBound), meanStd: meanStd)
    }

    /// Builds a reference from ascending-sorted values (checked).
    public init(sortedSample: [Double], bins: Int = 10) throws(StatsError) {
        try Self.validate(sortedSample, which: "reference")
        for i in 1..<Swift.max(1, sortedSample.count) where sortedSample[i] < sortedSample[i - 1] {
            throw .invalidParameter(name: "sortedSample", detail: "not ascending at index \(i)")
        }
        try self.init(validatedSorted: sortedSample, bins: bins, source: .exact)
    }

    private init(validatedSorted s: [Double], bins: Int, source: Source, meanStd: (Double, Double)? = nil) throws(StatsError) {
        guard (2...10_000).contains(bins) else {
            throw .invalidParameter(name: "bins", detail: "\(bins) not in 2...10000")
        }
        sorted = s
        self.bins = bins
        let e = Self.quantileEdges(sorted: s, bins: bins)
        edges = e
        var counts = [Int](repeating: 0, count: e.count + 1)
        s.withUnsafeBufferPointer { Self.countPerBin(sorted: $0, edges: e, into: &counts) }
        binCounts = counts
        self.source = source
        if let (m, sd) = meanStd {
            mean = m
            standardDeviation = sd
            return
        }
        // two-pass mean and variance (as numpy)
        var sum = 0.0
        for v in s { sum += v }
        let m = sum / Double(s.count)
        var ss = 0.0
        for v in s { ss += (v - m) * (v - m) }
        mean = m
        standardDeviation = (ss / Double(s.count)).squareRoot()
    }

    static func validate(_ values: [Double], which: String) throws(StatsError) {
        guard !values.isEmpty else { throw .emptySample(which: which) }
        for i in values.indices where !values[i].isFinite { throw .nonFiniteValue(which: which, index: i) }
    }

    /// `numpy.quantile(sorted, q)` with the default linear method, bit-for-bit.
    public static func numpyQuantile(sorted s: [Double], _ q: Double) -> Double {
        let n = s.count
        let virtual = Double(n - 1) * q
        if virtual >= Double(n - 1) { return s[n - 1] }
        if virtual < 0 { return s[0] }
        let prevD = virtual.rounded(.down)
        let prev = Int(prevD)
        let a = s[prev], b = s[prev + 1]
        let t = virtual - prevD
        let diff = b - a
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t
    }

    /// `unique(numpy.quantile(sorted, [1/bins, …, (bins−1)/bins]))`.
    public static func quantileEdges(sorted s: [Double], bins: Int) -> [Double] {
        var e = [Double]()
        e.reserveCapacity(bins - 1)
        for i in 1..<bins { e.append(numpyQuantile(sorted: s, Double(i) / Double(bins))) }
        e.sort()
        var u = [Double]()
        u.reserveCapacity(e.count)
        for x in e where u.last != x { u.append(x) }
        e = u
        return e
    }

    /// Counts ascending-sorted `values` per bin (bin = number of edges `<= v`).
    /// - Complexity: O(edges · log n).
    @inlinable
    public static func countPerBin(sorted values: UnsafeBufferPointer<Double>, edges: [Double], into counts: inout [Int]) {
        var prev = 0
        for (i, e) in edges.enumerated() {
            let lt = lowerBound(values, e)  // values < e
            counts[i] = lt - prev
            prev = lt
        }
        counts[edges.count] = values.count - prev
    }

    /// First index with `values[i] >= x`.
    @inlinable
    static func lowerBound(_ values: UnsafeBufferPointer<Double>, _ x: Double) -> Int {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if values[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension NumericReference: ByteSerializable {
    /// Writes the sorted sample, the bin count, the source and the moments (edges and bin counts are
    /// recomputed on restore, bit-identically).
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WNRF", version: 1)
        w.write(UInt32(bins))
        switch source {
        case .exact: w.write(UInt8(0)); w.write(0); w.write(0.0)
        case .sketch(let n, let e): w.write(UInt8(1)); w.write(n); w.write(e)
        }
        w.write(mean)
        w.write(standardDeviation)
        w.write(sorted)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WNRF", supportedVersions: 1...1)
        let bins = Int(try r.readUInt32())
        let kind = try r.readUInt8()
        let n = try r.readInt()
        let e = try r.readDouble()
        let mean = try r.readDouble()
        let std = try r.readDouble()
        let values = try r.readDoubles(field: "NumericReference.sorted")
        let source: Source
        switch kind {
        case 0: source = .exact
        case 1 where n >= values.count && e >= 0 && e.isFinite: source = .sketch(count: n, rankError: e)
        default: throw .invalidValue(field: "NumericReference.source", detail: "kind \(kind) count \(n)")
        }
        guard mean.isFinite, std.isFinite, std >= 0 else {
            throw .invalidValue(field: "NumericReference.moments", detail: "mean \(mean) std \(std)")
        }
        do {
            try Self.validate(values, which: "reference")
            for i in 1..<Swift.max(1, values.count) where values[i] < values[i - 1] {
                throw StatsError.invalidParameter(name: "sorted", detail: "not ascending at \(i)")
            }
            try self.init(validatedSorted: values, bins: bins, source: source, meanStd: (mean, std))
        } catch {
            throw .invalidValue(field: "NumericReference", detail: "\(error)")
        }
    }
}
