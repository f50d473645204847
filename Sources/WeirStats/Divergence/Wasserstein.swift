/// Wasserstein-1 (earth mover's) distance between two empirical distributions,
/// as `scipy.stats.wasserstein_distance(u, v)` on raw samples: `∫ |F_u(x) − F_v(x)| dx`.
public enum Wasserstein {
    /// Distance between two ascending-sorted, non-empty, finite samples.
    /// - Complexity: O(n + m), one merge walk, no allocation.
    public static func distance(sortedU u: UnsafeBufferPointer<Double>, sortedV v: UnsafeBufferPointer<Double>) -> Double {
        TwoSampleWalk.run(u, v).wasserstein
    }

    /// Distance between two ascending-sorted arrays.
    public static func distance(sortedU u: [Double], sortedV v: [Double]) -> Double {
        u.withUnsafeBufferPointer { a in v.withUnsafeBufferPointer { b in distance(sortedU: a, sortedV: b) } }
    }
}

/// One merge walk over two sorted samples that yields both the KS statistic and the
/// Wasserstein-1 distance (both are functionals of the two empirical CDFs on the merged grid).
@usableFromInline
enum TwoSampleWalk {
    @usableFromInline
    struct Output { var ksStatistic: Double; var wasserstein: Double }

    @usableFromInline
    static func run(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> Output {
        let n1 = a.count, n2 = b.count
        guard n1 > 0, n2 > 0 else { return Output(ksStatistic: 0, wasserstein: 0) }
        let d1 = Double(n1), d2 = Double(n2)
        var i = 0, j = 0
        var maxS = -Double.infinity, minS = Double.infinity
        var w = 0.0
        var v = Swift.min(a[0], b[0])
        while true {
            while i < n1 && a[i] <= v { i += 1 }
            while j < n2 && b[j] <= v { j += 1 }
            let diff = Double(i) / d1 - Double(j) / d2
            if diff > maxS { maxS = diff }
            if diff < minS { minS = diff }
            let next: Double
            if i < n1 {
                next = j < n2 ? Swift.min(a[i], b[j]) : a[i]
            } else if j < n2 {
                next = b[j]
            } else {
                break
            }
            w += abs(diff) * (next - v)
            v = next
        }
        let d = Swift.max(maxS, Swift.min(1, Swift.max(0, -minS)))
        return Output(ksStatistic: d, wasserstein: w)
    }
}
