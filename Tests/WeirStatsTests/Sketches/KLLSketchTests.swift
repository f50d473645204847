import Testing
import WeirTestSupport
@testable import WeirStats

/// Exact normalised rank (share of values <= x) by binary search in a sorted array.
func exactRank(_ sorted: [Double], _ x: Double) -> Double {
    var lo = 0, hi = sorted.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if sorted[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return Double(lo) / Double(sorted.count)
}

let probeQs: [Double] = (1...199).map { Double($0) / 200 }

/// Max over q of |exact rank of the sketch's q-quantile − q| and of |sketch rank − exact rank|.
func maxRankError(_ s: KLLSketch, _ sorted: [Double]) -> Double {
    let view = s.sortedView()
    var worst = 0.0
    for q in probeQs {
        let v = view.quantile(q)!
        // the sketch answers with a value whose exact rank interval [rank(<v), rank(<=v)] should contain q ± ε
        let hiRank = exactRank(sorted, v)
        let loRank = exactRank(sorted, v.nextDown)
        let e = q > hiRank ? q - hiRank : (q < loRank ? loRank - q : 0)
        worst = max(worst, e)
        let x = sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
        worst = max(worst, abs(s.rank(x) - exactRank(sorted, x)))
    }
    return worst
}

@Suite struct KLLSketchTests {
    @Test func millionValuesWithinRankBound() throws {
        var rng = SeededGenerator(seed: 11)
        var s = try KLLSketch()
        var all = [Double]()
        all.reserveCapacity(1_000_000)
        for _ in 0..<1_000_000 {
            let v = rng.nextGaussian() * 3 + 10
            s.insert(v)
            all.append(v)
        }
        all.sort()
        let err = maxRankError(s, all)
        #expect(err <= s.rankErrorBound, "max rank error \(err) bound \(s.rankErrorBound)")
        #expect(s.count == 1_000_000)
        #expect(s.min == all.first && s.max == all.last)
        #expect(s.quantile(0) == all.first && s.quantile(1) == all.last)
        #expect(s.retainedCount < 1000)
    }

    @Test func sortedInputAndTiesWithinBound() throws {
        var s = try KLLSketch(k: 100)
        var all = [Double]()
        for i in 0..<200_000 {
            let v = Double(i % 1000 < 500 ? i / 1000 : 7)  // heavy ties on 7
            s.insert(v); all.append(v)
        }
        all.sort()
        #expect(maxRankError(s, all) <= s.rankErrorBound)
    }

    @Test func mergeWithinBoundOfUnion() throws {
        var rng = SeededGenerator(seed: 5)
        var a = try KLLSketch(seed: 1), b = try KLLSketch(seed: 2)
        var all = [Double]()
        for _ in 0..<200_000 { let v = rng.nextGaussian(); a.insert(v); all.append(v) }
        for _ in 0..<300_000 { let v = rng.nextGaussian() * 2 + 1; b.insert(v); all.append(v) }
        try a.merge(b)
        all.sort()
        #expect(a.count == 500_000)
        #expect(maxRankError(a, all) <= a.rankErrorBound)
        #expect(a.min == all.first && a.max == all.last)
        #expect(throws: StatsError.self) { try a.merge(try KLLSketch(k: 64)) }
    }

    @Test func serializeRestoreContinueEqualsUninterrupted() throws {
        var rng = SeededGenerator(seed: 9)
        var a = try KLLSketch(k: 64, seed: 77)
        for _ in 0..<12_345 { a.insert(rng.nextGaussian()) }
        var b = try KLLSketch(serialized: a.serialized())
        #expect(a == b)
        for _ in 0..<50_000 { let v = rng.nextGaussian(); a.insert(v); b.insert(v) }
        #expect(a == b)
        #expect(a.quantile(0.5) == b.quantile(0.5))
        #expect(throws: SerializationError.self) { _ = try KLLSketch(serialized: Array(a.serialized().prefix(40))) }
    }

    @Test func deterministicGivenSeed() throws {
        var a = try KLLSketch(seed: 3), b = try KLLSketch(seed: 3)
        for i in 0..<100_000 { a.insert(Double((i * 7919) % 100_003)); b.insert(Double((i * 7919) % 100_003)) }
        #expect(a == b)
    }

    @Test func edgeCases() throws {
        var s = try KLLSketch()
        #expect(s.quantile(0.5) == nil)
        #expect(s.rank(1) == 0)
        #expect(s.min == nil)
        s.insert(.nan)
        #expect(s.count == 0 && s.nanCount == 1)
        s.insert(4)
        #expect(s.quantile(0.5) == 4)
        #expect(s.quantile(1.5) == nil)
        #expect(s.quantile(.nan) == nil)
        s.insert(.infinity)
        #expect(s.quantile(1) == .infinity)
        #expect(throws: StatsError.self) { _ = try KLLSketch(k: 2) }
    }
}
