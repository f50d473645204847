import Testing
import WeirTestSupport
@testable import WeirStats

/// The galloping KS statistic (a small window against a large reference) must equal the merge
/// walk bit for bit, whichever sample is the small one, with ties within and across samples.
@Suite struct KSStatisticTests {
    static func sample(_ n: Int, _ g: inout SeededGenerator, ties: Bool, shift: Double) -> [Double] {
        (0..<n).map { _ in
            ties ? Double(Int.random(in: 0..<40, using: &g)) + shift : g.nextGaussian() + shift
        }.sorted()
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func gallopingEqualsTheMergeWalk(seed: Int) {
        var g = SeededGenerator(seed: UInt64(seed))
        for (small, large) in [(1, 8), (3, 500), (100, 800), (1_000, 50_000), (17, 20_000)] {
            for ties in [false, true] {
                for shift in [-3.0, 0, 0.5, 40] {
                    let a = Self.sample(small, &g, ties: ties, shift: shift)
                    let b = Self.sample(large, &g, ties: ties, shift: 0)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            let merge = KolmogorovSmirnov.mergeStatistic(sortedA: pa, sortedB: pb)
                            #expect(KolmogorovSmirnov.statistic(sortedA: pa, sortedB: pb) == merge)
                            #expect(KolmogorovSmirnov.gallopingStatistic(small: pa, large: pb) == merge)
                            // The other way round: the large sample first.
                            let swapped = KolmogorovSmirnov.mergeStatistic(sortedA: pb, sortedB: pa)
                            #expect(KolmogorovSmirnov.statistic(sortedA: pb, sortedB: pa) == swapped)
                            #expect(swapped == merge)
                        }
                    }
                }
            }
        }
    }

    /// Hand-checked: a = {1, 2}, b = {0, 1, 1, 3 ×13} → F_a − F_b peaks at x = 2: 1 − 3/16.
    @Test func knownValue() {
        let a: [Double] = [1, 2]
        let b: [Double] = [0, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                #expect(KolmogorovSmirnov.statistic(sortedA: pa, sortedB: pb) == 1 - 3.0 / 16)
            }
        }
    }
}
