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

    /// Number of reference values.
    public var count: Int { sorted.count }
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
        try self.init(validatedSorted: s, bins: bins)
    }

    /// Builds a reference from ascending-sorted values (checked).
    public init(sortedSample: [Double], bins: Int = 10) throws(StatsError) {
        try Self.validate(sortedSample, which: "reference")
        for i in 1..<Swift.max(1, sortedSample.count) where sortedSample[i] < sortedSample[i - 1] {
            throw .invalidParameter(name: "sortedSample", detail: "not ascending at index \(i)")
        }
        try self.init(validatedSorted: sortedSample, bins: bins)
    }

    private init(validatedSorted s: [Double], bins: Int) throws(StatsError) {
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
