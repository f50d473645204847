import Testing
import WeirStats
import WeirTestSupport
@testable import WeirCore

@Suite struct AccumulatorTests {
    private func store(_ specs: [AggregateSpec], _ fieldType: FieldType = .double) throws -> AccumulatorStore {
        try AccumulatorStore(specs: specs, schema: try Schema([FieldSpec("x", fieldType)]))
    }

    private func feed(_ s: inout AccumulatorStore, _ e: Int32, _ xs: [Double], t0: Int64 = 0) {
        var inp = AggregateInputs(count: s.aggregateCount)
        for (i, x) in xs.enumerated() {
            for a in 0..<s.aggregateCount {
                inp.present[a] = true
                if s.aggs[a].op == .distinct { inp.values[a] = Double(bitPattern: StatsHash.hash(x)) } else { inp.values[a] = x }
            }
            s.apply(e, inp, ts: t0 + Int64(i))
        }
    }

    private func out(_ s: AccumulatorStore, _ e: Int32) -> [Double] {
        var o = ContiguousArray<Double>(repeating: 0, count: s.columnCount)
        s.output(e, into: &o, at: 0)
        return Array(o)
    }

    @Test func varianceNear1e9KeepsPrecision() throws {
        var s = try store([.count(), .mean("x"), .variance("x"), .std("x")])
        s.prepare(0); s.prepare(1); s.prepare(2)
        var g = SeededGenerator(seed: 3)
        let xs = (0..<100_000).map { _ in 1e9 + Double.random(in: 0..<0.01, using: &g) }
        feed(&s, 0, xs)
        feed(&s, 1, Array(xs[..<37_000])); feed(&s, 2, Array(xs[37_000...]))
        s.merge(into: 1, from: 2)
        // reference: shift by 1e9 (exact for these values), then two-pass
        let d = xs.map { $0 - 1e9 }
        let m = d.reduce(0, +) / Double(d.count)
        let ref = d.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(d.count - 1)
        #expect(ref > 8e-6 && ref < 9e-6)
        for e: Int32 in [0, 1] {
            let o = out(s, e)
            #expect(o[0] == 100_000)
            #expect(abs((o[1] - 1e9) - m) < 1e-6, "mean (compensated sum)")
            #expect(isClose(o[2], ref, relative: 1e-6), "variance \(o[2]) vs \(ref) (entry \(e))")
            #expect(isClose(o[3], ref.squareRoot(), relative: 1e-6))
        }
        // the naive formula E[x²] − E[x]² loses everything here
        let naive = xs.reduce(0) { $0 + $1 * $1 } / 1e5 - (xs.reduce(0, +) / 1e5) * (xs.reduce(0, +) / 1e5)
        #expect(!isClose(naive, ref, relative: 0.1))
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func mergeEqualsSequentialUpdate(seed: UInt64) throws {
        var s = try store([.count(), .sum("x"), .mean("x"), .min("x"), .max("x"), .variance("x"), .first("x"), .last("x")])
        for e: Int32 in 0...3 { s.prepare(e) }
        var g = SeededGenerator(seed: seed)
        let xs = (0..<500).map { _ in Double.random(in: -100...100, using: &g) }
        let cut = Int.random(in: 0...500, using: &g)
        feed(&s, 0, xs)
        feed(&s, 1, Array(xs[..<cut])); feed(&s, 2, Array(xs[cut...]), t0: Int64(cut))
        s.merge(into: 1, from: 2)
        feed(&s, 3, Array(xs[cut...]), t0: Int64(cut))  // merge the other way round
        s.prepare(2); feed(&s, 2, Array(xs[..<cut]))
        s.merge(into: 3, from: 2)
        let want = out(s, 0)
        for e: Int32 in [1, 3] {
            let got = out(s, e)
            #expect(zip(got, want).allSatisfy { isClose($0, $1, relative: 1e-10, absolute: 1e-9) }, "\(got) vs \(want)")
        }
    }

    @Test func ewmaFirstLastFollowDefinitions() throws {
        var s = try store([.ewma("x", alpha: 0.5), .first("x"), .last("x"), .min("x"), .max("x")])
        s.prepare(0)
        var inp = AggregateInputs(count: 5)
        for i in 0..<5 { inp.present[i] = true }
        for (x, t) in [(4.0, 10), (8.0, 5), (2.0, 20), (6.0, 20)] as [(Double, Int64)] {
            for i in 0..<5 { inp.values[i] = x }
            s.apply(0, inp, ts: t)
        }
        // ewma in arrival order: 4 → 6 → 4 → 5; first = value at min time (8 @5); last = latest arrival among max time (6 @20)
        #expect(out(s, 0) == [5, 8, 6, 2, 8])
    }

    @Test func emptyAndAbsentInputsGiveZeroNotNaN() throws {
        var s = try store([.mean("x"), .variance("x"), .min("x"), .first("x"), .quantile("x", 0.5), .distinct("x")])
        s.prepare(0)
        #expect(out(s, 0) == [0, 0, 0, 0, 0, 0])
    }

    /// The definitions in topologies/README.md "Aggregates": one value, no present value (events
    /// whose field is absent: only `count` without a field counts them), the sample (n − 1)
    /// variance, the quantile's rank rule while exact, top-k ids, and non-finite results as 0.
    @Test func aggregatesFollowTheirDocumentedDefinitions() throws {
        let specs: [AggregateSpec] = [.count(), .count("present", field: "x"), .sum("x"), .mean("x"), .variance("x"), .std("x"),
                                      .min("x"), .max("x"), .first("x"), .last("x"), .ewma("x", alpha: 0.3),
                                      .distinct("x"), .quantile("x", 0.5)]
        var s = try store(specs)
        for e: Int32 in 0...3 { s.prepare(e) }
        feed(&s, 0, [7.5])
        var absent = AggregateInputs(count: s.aggregateCount)
        for a in 0..<s.aggregateCount { absent.present[a] = s.aggs[a].field < 0; absent.values[a] = 1 }
        s.apply(1, absent, ts: 0); s.apply(1, absent, ts: 1)
        let one = out(s, 0)
        #expect(Array(one[..<11]) == [1, 1, 7.5, 7.5, 0, 0, 7.5, 7.5, 7.5, 7.5, 7.5], "\(one)")
        #expect(abs(one[11] - 1) < 0.01, "distinct count of one value: \(one[11])")
        #expect(one[12] == 7.5)
        #expect(out(s, 1) == [2] + [Double](repeating: 0, count: 12), "absent field: only the event count")
        feed(&s, 2, [1, 3])
        let two = out(s, 2)
        #expect(two[4] == 2 && two[5] == 2.0.squareRoot(), "sample variance of {1, 3} is 2 (n − 1), not 1")
        feed(&s, 3, [0.0, -0.0, 5])
        #expect(abs(out(s, 3)[11] - 2) < 0.02, "0.0 and -0.0 are one distinct value")
        var scalars = try store([.sum("x"), .variance("x")])
        scalars.prepare(0)
        feed(&scalars, 0, [1e308, 1e308])
        #expect(out(scalars, 0) == [0, 0], "a sum (and a variance) that overflows reads 0")
        // beside a sketch too (this trapped: every slot was read as a sketch pool index)
        var mixed = try store([.sum("x"), .distinct("x")])
        mixed.prepare(0)
        feed(&mixed, 0, [1e308, 1e308])
        #expect(out(mixed, 0)[0] == 0 && abs(out(mixed, 0)[1] - 1) < 0.01, "overflowed sum reads 0, one distinct value")

        // quantile: the ⌈q·n⌉-th smallest (the smallest when q·n < 1), exact below k = 200 values
        var g = SeededGenerator(seed: 4)
        for (n, q, want) in [(10, 0.25, 3.0), (10, 0.05, 1), (10, 0.5, 5), (10, 0.95, 10), (199, 0.37, 74)] {
            var qs = try store([.quantile("x", q)])
            qs.prepare(0)
            feed(&qs, 0, (1...n).map(Double.init).shuffled(using: &g))
            #expect(out(qs, 0) == [want], "q \(q) of 1...\(n)")
        }

        // top-k: ids most frequent first (ties: the smaller id); −1 and count 0 past the values seen
        var t = try store([.topK("x", k: 3)], .category)
        for e: Int32 in 0...2 { t.prepare(e) }
        feed(&t, 1, [4])
        feed(&t, 2, [5, 2, 5, 2, 9])
        #expect(out(t, 0) == [-1, 0, -1, 0, -1, 0])
        #expect(out(t, 1) == [4, 1, -1, 0, -1, 0])
        #expect(out(t, 2) == [2, 2, 5, 2, 9, 1])
    }

    @Test func hyperLogLogWithinStatedErrorAndMergesToUnion() throws {
        var s = try store([.distinct("x", precision: 12)])
        for e: Int32 in 0...2 { s.prepare(e) }
        let n = 1_000_000
        let xs = (0..<n).map(Double.init)
        feed(&s, 0, xs)
        feed(&s, 1, Array(xs[..<600_000])); feed(&s, 2, Array(xs[400_000...]))  // overlapping halves
        s.merge(into: 1, from: 2)
        let rse = 1.04 / (4096.0).squareRoot()
        let a = out(s, 0)[0], m = out(s, 1)[0]
        #expect(abs(a - Double(n)) / Double(n) < 3 * rse, "estimate \(a)")
        #expect(abs(m - Double(n)) / Double(n) < 3 * rse, "merged estimate \(m)")
        #expect(m == a, "register-wise max of the parts equals the sketch of the union")
    }

    @Test func kllQuantilesWithinRankErrorAndMerge() throws {
        var s = try store([.quantile("x", 0.5, k: 200, as: "p50"), .quantile("x", 0.9, k: 200, as: "p90"), .quantile("x", 0.99, k: 200, as: "p99")])
        for e: Int32 in 0...2 { s.prepare(e) }
        var g = SeededGenerator(seed: 11)
        let n = 300_000  // 1M-value error tests live in WeirStats; this checks the window wiring
        let xs = (0..<n).map { _ in Double.random(in: 0..<1, using: &g) }
        feed(&s, 0, xs)
        feed(&s, 1, Array(xs[..<100_000])); feed(&s, 2, Array(xs[100_000...]))
        s.merge(into: 1, from: 2)
        let eps = KLLSketch.rankErrorBound(k: 200)
        let sorted = xs.sorted()
        func rank(_ v: Double) -> Double {
            var lo = 0, hi = n
            while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] <= v { lo = mid + 1 } else { hi = mid } }
            return Double(lo) / Double(n)
        }
        for e: Int32 in [0, 1] {
            let o = out(s, e)
            for (q, v) in zip([0.5, 0.9, 0.99], o) {
                #expect(abs(rank(v) - q) <= eps, "entry \(e) q\(q): value \(v) has rank \(rank(v)), bound \(eps)")
            }
        }
    }

    @Test func spaceSavingTopKOfCategories() throws {
        var s = try store([.topK("x", k: 3, capacity: 32)], .category)
        for e: Int32 in 0...2 { s.prepare(e) }
        var g = SeededGenerator(seed: 5)
        // Zipf-like over 200 categories
        let weights = (1...200).map { 1.0 / Double($0) }
        let total = weights.reduce(0, +)
        var xs: [Double] = []
        var truth = [Int](repeating: 0, count: 200)
        for _ in 0..<100_000 {
            var u = Double.random(in: 0..<total, using: &g)
            var c = 0
            while u >= weights[c] && c < 199 { u -= weights[c]; c += 1 }
            truth[c] += 1
            xs.append(Double(c))
        }
        feed(&s, 0, xs)
        feed(&s, 1, Array(xs[..<50_000])); feed(&s, 2, Array(xs[50_000...]))
        s.merge(into: 1, from: 2)
        for e: Int32 in [0, 1] {
            let o = out(s, e)  // id1, count1, id2, count2, id3, count3
            #expect([o[0], o[2], o[4]] == [0, 1, 2], "top-3 ids")
            for j in 0..<3 {
                let id = Int(o[2 * j]), c = o[2 * j + 1]
                #expect(c >= Double(truth[id]) && c - Double(truth[id]) <= 100_000.0 / 32 * (e == 1 ? 2 : 1), "count bound for \(id)")
            }
        }
    }

    @Test func invalidAggregatesAreRejected() throws {
        let schema = try Schema([.double("x"), .string("s")])
        #expect(throws: SchemaError.self) { _ = try AccumulatorStore(specs: [.sum("s")], schema: schema) }
        #expect(throws: SchemaError.self) { _ = try AccumulatorStore(specs: [.sum("nope")], schema: schema) }
        #expect(throws: SchemaError.self) { _ = try AccumulatorStore(specs: [.ewma("x", alpha: 0)], schema: schema) }
        #expect(throws: SchemaError.self) { _ = try AccumulatorStore(specs: [.quantile("x", 1.5)], schema: schema) }
        #expect(throws: SchemaError.self) { _ = try AccumulatorStore(specs: [.count(), .count()], schema: schema) }
        #expect(throws: SchemaError.self) {
            _ = try WindowOperator(spec: WindowSpec(name: "w", keyBy: nil, kind: .session(gap: 5), aggregates: [.ewma("x", alpha: 0.1)]), schema: schema)
        }
    }
}
