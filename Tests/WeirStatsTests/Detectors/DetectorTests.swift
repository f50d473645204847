import Testing
@testable import WeirStats

/// Regenerates a fixture stream bit-for-bit (SplitMix64, u = (next >> 11)·2⁻⁵³), as
/// scripts/fixtures/stats_gen_detectors.py does.
func fixtureStream(_ spec: JSONValue) -> [Double] {
    var g = SplitMix64(seed: UInt64(spec["seed"]!.int!))
    var out = [Double]()
    for seg in spec["segments"]!.array! {
        let s = seg.array!
        let n = s[0].int!, kind = s[1].string!, a = s[2].double!, b = s[3].double!
        out.reserveCapacity(out.count + n)
        for _ in 0..<n {
            let u = Double(g.next() >> 11) * 0x1p-53
            out.append(kind == "uniform" ? a + (b - a) * u : (u < a ? 1.0 : 0.0))
        }
    }
    return out
}

func detections(_ values: [Double], _ update: (Double) -> Bool) -> [Int] {
    var d = [Int]()
    for (i, x) in values.enumerated() where update(x) { d.append(i) }
    return d
}

@Suite struct DetectorTests {
    /// 1,000,000 stationary values: ADWIN raises no alarm; Page-Hinkley at River's defaults raises
    /// exactly River's count (0 on a low-variance stream; tens on unit-scale streams, a property of λ=50).
    @Test func millionStationaryValuesFalseAlarms() throws {
        #expect(detectorMillionRuns.count == 3)
        for run in detectorMillionRuns {
            let xs = fixtureStream(run)
            #expect(xs.count == 1_000_000)
            var ad = try ADWIN()
            var ph = try PageHinkley()
            var na = 0, np = 0
            for x in xs {
                if ad.update(x) { na += 1 }
                if ph.update(x) { np += 1 }
            }
            print("false alarms on \(run["name"]!.string!): ADWIN \(na), Page-Hinkley \(np)")
            #expect(na == 0)
            #expect(na == run["adwin_count"]!.int)
            #expect(np == run["ph_both_count"]!.int)
        }
    }

    /// An abrupt mean shift is detected within a bounded delay.
    @Test func abruptShiftDetectedWithinBoundedDelay() throws {
        var g = SplitMix64(seed: 99)
        func u() -> Double { Double(g.next() >> 11) * 0x1p-53 }
        // error rate 0.1 → 0.5 at t = 5000
        var ad = try ADWIN()
        var ph = try PageHinkley(config: PageHinkleyConfig(mode: .up))
        var adAt: Int?, phAt: Int?
        for t in 0..<8000 {
            let x: Double = u() < (t < 5000 ? 0.1 : 0.5) ? 1 : 0
            if ad.update(x), t >= 5000, adAt == nil { adAt = t - 5000 }
            if ph.update(x), t >= 5000, phAt == nil { phAt = t - 5000 }
            #expect(!(t < 5000 && ad.driftDetected), "ADWIN false alarm at \(t)")
        }
        let a = try #require(adAt), p = try #require(phAt)
        print("detection delay after 0.1→0.5 error-rate shift: ADWIN \(a), Page-Hinkley \(p)")
        #expect(a <= 128)  // a clock of 32 quantises the delay
        #expect(p <= 250)  // λ/(Δ−δ) = 50/0.4 ≈ 125 plus noise
    }

    @Test func snapshotRestoreContinueEqualsUninterrupted() throws {
        let xs = fixtureStream(detectorRuns[0])
        var a = try ADWIN(), p = try PageHinkley()
        for x in xs.prefix(3100) { a.update(x); p.update(x) }
        var b = try ADWIN(serialized: a.serialized()), q = try PageHinkley(serialized: p.serialized())
        #expect(a == b && p == q)
        for x in xs.dropFirst(3100) {
            #expect(a.update(x) == b.update(x))
            #expect(p.update(x) == q.update(x))
        }
        #expect(a == b && p == q)
        #expect(a.totalDetections == 2)
        #expect(throws: SerializationError.self) { _ = try ADWIN(serialized: Array(a.serialized().dropLast(3))) }
    }

    @Test func badInputAndConfiguration() throws {
        var a = try ADWIN()
        for _ in 0..<100 { a.update(0.5) }
        a.update(.nan); a.update(.infinity)
        #expect(a.ignoredCount == 2 && a.width == 100 && a.estimation == 0.5 && a.variance == 0)
        a.reset()
        #expect(a.width == 0 && !a.driftDetected && a.updateCount == 100)
        let fresh = try ADWIN()
        for x in [0.1, 0.9, 0.4] { a.update(x) }
        var f2 = fresh
        for x in [0.1, 0.9, 0.4] { f2.update(x) }
        #expect(a.width == f2.width && a.total == f2.total && a.variance == f2.variance)
        var p = try PageHinkley()
        p.update(.nan)
        #expect(p.ignoredCount == 1 && p.count == 0)
        #expect(throws: StatsError.self) { _ = try ADWIN(config: ADWINConfig(delta: 0)) }
        #expect(throws: StatsError.self) { _ = try ADWIN(config: ADWINConfig(clock: 0)) }
        #expect(throws: StatsError.self) { _ = try PageHinkley(config: PageHinkleyConfig(alpha: 1.5)) }
        let empty = try ADWIN()
        #expect(empty.estimation == 0 && empty.variance == 0 && empty.width == 0)
    }
}
