/// Options for comparing a current numeric sample with a ``NumericReference``.
public struct NumericDriftOptions: Sendable, Equatable {
    /// KS p-value method (scipy's default is ``KSMethod/auto``).
    public var ksMethod: KSMethod
    /// Share used for empty PSI bins (1e-4).
    public var psiFloor: Double
    /// Log base of the Jensen–Shannon distance (natural, like scipy's default).
    public var jsBase: LogBase
    /// The normalised Wasserstein distance divides by `max(reference std, this)` (Evidently uses 0.001),
    /// so a constant reference gives a finite value.
    public var wassersteinStdFloor: Double

    public init(ksMethod: KSMethod = .auto, psiFloor: Double = 1e-4, jsBase: LogBase = .natural,
                wassersteinStdFloor: Double = 1e-3) {
        self.ksMethod = ksMethod
        self.psiFloor = psiFloor
        self.jsBase = jsBase
        self.wassersteinStdFloor = wassersteinStdFloor
    }
}

/// Drift statistics of one current numeric sample against a ``NumericReference``. Never NaN.
public struct NumericComparison: Sendable, Equatable {
    public let nReference: Int
    public let nCurrent: Int
    /// PSI on the reference's quantile bins (floor rule of ``PopulationStability``).
    public let psi: Double
    /// Two-sided two-sample KS (statistic, p-value, method used).
    public let ks: KSResult
    /// Wasserstein-1 distance on the raw samples (scipy.stats.wasserstein_distance).
    public let wasserstein: Double
    /// `wasserstein / max(reference std, options.wassersteinStdFloor)`.
    public let wassersteinNormalized: Double
    /// Jensen–Shannon distance on the PSI bins (shares without floor; base per options).
    public let jsDistance: Double
}

extension NumericReference {
    /// Compares an ascending-sorted current sample with this reference: PSI, KS, Wasserstein, JS.
    ///
    /// One merge walk over both sorted samples gives KS `D` and Wasserstein; binary searches give
    /// the current bin counts. Sort the window once in place (``InPlaceSort``) and pass it here.
    /// - Throws: ``StatsError/emptySample(which:)`` for an empty current sample;
    ///   ``StatsError/nonFiniteValue(which:index:)``; ``StatsError/invalidParameter(name:detail:)`` if
    ///   `sortedCurrent` is not ascending.
    /// - Complexity: O(n_ref + n_cur) plus the KS p-value (O(n_cur) typical; exact method up to
    ///   O(n·m·D) for samples of at most 10,000); no heap allocation except the bin-count buffer.
    public func compare(sortedCurrent cur: UnsafeBufferPointer<Double>,
                        options: NumericDriftOptions = NumericDriftOptions()) throws(StatsError) -> NumericComparison {
        guard cur.count > 0 else { throw .emptySample(which: "current") }
        for i in 0..<cur.count {
            if !cur[i].isFinite { throw .nonFiniteValue(which: "current", index: i) }
            if i > 0 && cur[i] < cur[i - 1] {
                throw .invalidParameter(name: "sortedCurrent", detail: "not ascending at index \(i)")
            }
        }
        let walk = sorted.withUnsafeBufferPointer { TwoSampleWalk.run($0, cur) }
        let ks = KolmogorovSmirnov.test(statistic: walk.ksStatistic, n1: count, n2: cur.count,
                                        method: options.ksMethod)
        // current bin counts on the stack (no heap allocation for ordinary bin counts)
        let bins: Result<(Double, Double), StatsError> = withUnsafeTemporaryAllocation(of: Int.self, capacity: edges.count + 1) { tmp in
            var prev = 0
            for (i, e) in edges.enumerated() {
                let lt = Self.lowerBound(cur, e)
                tmp[i] = lt - prev
                prev = lt
            }
            tmp[edges.count] = cur.count - prev
            let counts = UnsafeBufferPointer(tmp)
            return binCounts.withUnsafeBufferPointer { ref in
                Result { () throws(StatsError) -> (Double, Double) in
                    (try PopulationStability.psi(referenceCounts: ref, currentCounts: counts, floor: options.psiFloor),
                     try JensenShannon.distance(ref, counts, base: options.jsBase))
                }
            }
        }
        let (psi, js) = try bins.get()
        let w = walk.wasserstein
        return NumericComparison(
            nReference: count, nCurrent: cur.count, psi: psi, ks: ks, wasserstein: w,
            wassersteinNormalized: w / Swift.max(standardDeviation, options.wassersteinStdFloor),
            jsDistance: js)
    }

    /// Compares an ascending-sorted current array (see ``compare(sortedCurrent:options:)-(UnsafeBufferPointer<Double>,_)``).
    public func compare(sortedCurrent: [Double], options: NumericDriftOptions = NumericDriftOptions()) throws(StatsError) -> NumericComparison {
        let r: Result<NumericComparison, StatsError> = sortedCurrent.withUnsafeBufferPointer { p in
            Result { () throws(StatsError) -> NumericComparison in try compare(sortedCurrent: p, options: options) }
        }
        return try r.get()
    }

    /// Compares a current sample in any order (copied and sorted).
    public func compare(current: [Double], options: NumericDriftOptions = NumericDriftOptions()) throws(StatsError) -> NumericComparison {
        var c = current
        for i in c.indices where !c[i].isFinite { throw .nonFiniteValue(which: "current", index: i) }
        InPlaceSort.sort(&c)
        return try compare(sortedCurrent: c, options: options)
    }
}

/// Helpers for callers that count rather than reject non-finite input.
public enum FiniteValues {
    /// The finite values of `values` (order kept) and how many NaN/±Inf were dropped.
    public static func filter(_ values: [Double]) -> (finite: [Double], nonFinite: Int) {
        var out = [Double]()
        out.reserveCapacity(values.count)
        for v in values where v.isFinite { out.append(v) }
        return (out, values.count - out.count)
    }
}
