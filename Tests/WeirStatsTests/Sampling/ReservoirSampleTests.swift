import Testing
@testable import WeirStats

@Suite struct ReservoirSampleTests {
    @Test func keepsEverythingBelowCapacity() throws {
        var r = try ReservoirSample(capacity: 10)
        for i in 0..<7 { r.add(Double(i)) }
        #expect(r.seen == 7 && r.kept == 7 && !r.isSampled)
        #expect(r.values == [0, 1, 2, 3, 4, 5, 6])
    }

    /// Every stream position is kept with probability capacity/n (within 5σ over 20,000 seeds).
    @Test func inclusionIsUniform() throws {
        let n = 100, cap = 10, trials = 20_000
        var hits = [Int](repeating: 0, count: n)
        for seed in 0..<trials {
            var r = try ReservoirSample(capacity: cap, seed: UInt64(seed) &* 0x9E37_79B9)
            for i in 0..<n { r.add(Double(i)) }
            #expect(r.kept == cap)
            for v in r.values { hits[Int(v)] += 1 }
        }
        let expected = Double(trials * cap) / Double(n)
        let sigma = (expected * (1 - Double(cap) / Double(n))).squareRoot()
        for (i, h) in hits.enumerated() {
            #expect(abs(Double(h) - expected) < 5 * sigma, "position \(i): \(h) vs \(expected)")
        }
    }

    @Test func deterministicSnapshotAndReset() throws {
        var a = try ReservoirSample(capacity: 50, seed: 7)
        for i in 0..<1000 { a.add(Double(i)) }
        var b = try ReservoirSample(serialized: a.serialized())
        #expect(a == b)
        for i in 1000..<5000 { a.add(Double(i)); b.add(Double(i)) }
        #expect(a == b && a.seen == 5000 && a.kept == 50 && a.isSampled)
        var sorted = [Double]()
        a.sortedValues(into: &sorted)
        #expect(sorted == a.values.sorted())
        a.reset()
        #expect(a.seen == 0 && a.kept == 0)
        #expect(throws: StatsError.self) { _ = try ReservoirSample(capacity: 0) }
    }

    @Test func runningMomentsMatchBruteForceAndMerge() {
        let xs = (0..<1000).map { Double(($0 * 7919) % 1009) / 7 - 40 }
        var m = RunningMoments()
        for x in xs { m.add(x) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        #expect(abs(m.mean - mean) < 1e-12 && abs(m.variance - variance) < 1e-9)
        #expect(m.min == xs.min() && m.max == xs.max() && m.count == 1000)
        var a = RunningMoments(), b = RunningMoments()
        for x in xs.prefix(300) { a.add(x) }
        for x in xs.dropFirst(300) { b.add(x) }
        a.merge(b)
        #expect(abs(a.mean - mean) < 1e-12 && abs(a.variance - variance) < 1e-9 && a.count == 1000)
        #expect(RunningMoments().variance == 0)
    }
}
