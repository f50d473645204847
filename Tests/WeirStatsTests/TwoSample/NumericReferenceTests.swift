import Testing
import WeirTestSupport
@testable import WeirStats

@Suite struct NumericReferenceTests {
    @Test func snapshotRestoresAnIdenticalReference() throws {
        var rng = SeededGenerator(seed: 21)
        let ref = try NumericReference(sample: (0..<5000).map { _ in rng.nextGaussian() }, bins: 12)
        let back = try NumericReference(serialized: ref.serialized())
        #expect(back == ref)
        let cur = (0..<700).map { _ in rng.nextGaussian() + 0.2 }
        let c1 = try back.compare(current: cur), c2 = try ref.compare(current: cur)
        #expect(c1 == c2)
        var bytes = ref.serialized()
        bytes[bytes.count - 1] ^= 0x80  // last value's sign: the sample is no longer sorted
        #expect(throws: SerializationError.self) { _ = try NumericReference(serialized: bytes) }
    }

    /// A reference read from a KLL sketch of 1,000,000 values gives KS D within the stated bound
    /// of the exact reference's D, and close PSI, Wasserstein and JS.
    @Test func sketchBackedReferenceIsWithinItsRankError() throws {
        var rng = SeededGenerator(seed: 33)
        var sketch = try KLLSketch()
        var moments = RunningMoments()
        var all = [Double]()
        all.reserveCapacity(1_000_000)
        for _ in 0..<1_000_000 {
            let v = rng.nextGaussian()
            sketch.insert(v); moments.add(v); all.append(v)
        }
        let exact = try NumericReference(sample: all)
        let approx = try NumericReference(sketch: sketch, moments: moments)
        guard case .sketch(let n, let eps) = approx.source else { Issue.record("expected a sketch source"); return }
        #expect(n == 1_000_000 && approx.count == 1_000_000 && approx.sorted.count == 100_000)
        #expect(abs(approx.mean - exact.mean) < 1e-9 && abs(approx.standardDeviation - exact.standardDeviation) < 1e-9)
        for shift in [0.0, 0.05, 0.3] {
            let cur = (0..<10_000).map { _ in rng.nextGaussian() + shift }
            let e = try exact.compare(current: cur)
            let a = try approx.compare(current: cur)
            let bound = eps + 1.0 / 200_000
            #expect(abs(a.ks.statistic - e.ks.statistic) <= bound, "shift \(shift): D \(a.ks.statistic) vs \(e.ks.statistic)")
            #expect(a.nReference == 1_000_000 && a.ks.method == .asymptotic)
            #expect(abs(a.wasserstein - e.wasserstein) < 0.01, "W \(a.wasserstein) vs \(e.wasserstein)")
            #expect(abs(a.psi - e.psi) < 0.01, "PSI \(a.psi) vs \(e.psi)")
            #expect(abs(a.jsDistance - e.jsDistance) < 0.02, "JS \(a.jsDistance) vs \(e.jsDistance)")
        }
        // an uncompacted sketch is the raw sample: exact
        var small = try KLLSketch()
        for v in all.prefix(100) { small.insert(v) }
        let r = try NumericReference(sketch: small)
        let raw = try NumericReference(sample: Array(all.prefix(100)))
        #expect(r.source == .exact && r == raw)
        #expect(throws: StatsError.emptySample(which: "reference")) { _ = try NumericReference(sketch: try KLLSketch()) }
    }
}
