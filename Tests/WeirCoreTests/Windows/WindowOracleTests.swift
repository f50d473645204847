import Testing
import WeirCore
import WeirStats
import WeirTestSupport

/// Window semantics against brute-force references on randomized out-of-order streams.
@Suite struct WindowOracleTests {

    private func floorMod(_ a: Int64, _ b: Int64) -> Int64 { let r = a % b; return r < 0 ? r + b : r }

    /// Simulates Flink semantics from scratch: per event, the windows containing it, lateness,
    /// inline re-emission within lateness, firing on watermark advance, flush at the end.
    private func alignedOracle(_ events: [TestEvent], size: Int64, slide: Int64, offset: Int64, lateness: Int64,
                               bound: Int64,
                               aggregate: ([TestEvent]) -> [Double] = { bruteAggregates($0) }) -> (emissions: [Emission], late: [Int]) {
        struct W { var key: Int; var start: Int64; var events: [TestEvent] = []; var emitted = false; var fired = false }
        var ws: [String: W] = [:]
        var order: [String] = []
        var out: [Emission] = []
        var late: [Int] = []
        var maxTs = Int64.min
        var wm = Int64.min
        for (i, e) in events.enumerated() {
            var starts: [Int64] = []
            var s = e.ts - floorMod(e.ts - offset, slide)
            while s > e.ts - size { starts.append(s); s -= slide }
            var inTime = false
            for s in starts {
                let end = s + size
                if end - 1 + lateness <= wm { continue }
                inTime = true
                let id = "\(e.key)/\(s)"
                if ws[id] == nil { ws[id] = W(key: e.key, start: s); order.append(id) }
                ws[id]!.events.append(e)
                if wm >= end - 1 {
                    out.append(Emission(key: e.key, start: s, end: end, kind: ws[id]!.emitted ? .lateUpdate : .onTime,
                                        values: aggregate(ws[id]!.events)))
                    ws[id]!.emitted = true
                    ws[id]!.fired = true
                }
            }
            if !inTime { late.append(i) }
            maxTs = max(maxTs, e.ts)
            let nw = maxTs - bound - 1
            if nw > wm {
                wm = nw
                for id in order where !ws[id]!.fired && ws[id]!.start + size - 1 <= wm {
                    let w = ws[id]!
                    out.append(Emission(key: w.key, start: w.start, end: w.start + size, kind: w.emitted ? .lateUpdate : .onTime,
                                        values: aggregate(w.events)))
                    ws[id]!.fired = true
                    ws[id]!.emitted = true
                }
            }
        }
        for id in order where !ws[id]!.fired {
            let w = ws[id]!
            out.append(Emission(key: w.key, start: w.start, end: w.start + size, kind: .flushed, values: aggregate(w.events)))
        }
        return (out, late)
    }

    private func sorted(_ e: [Emission]) -> [Emission] {
        e.sorted { a, b in
            if a.key != b.key { return a.key < b.key }
            if a.start != b.start { return a.start < b.start }
            if a.kind.rawValue != b.kind.rawValue { return a.kind.rawValue < b.kind.rawValue }
            return a.values[0] < b.values[0]
        }
    }

    private func expectSame(_ got: [Emission], _ want: [Emission], _ label: String) {
        let g = sorted(got), w = sorted(want)
        #expect(g.count == w.count, "\(label): \(g.count) emissions, expected \(w.count)")
        for (a, b) in zip(g, w) {
            let same = a.key == b.key && a.start == b.start && a.end == b.end && a.kind == b.kind && valuesClose(a.values, b.values)
            #expect(same, "\(label): got \(a), expected \(b)")
            if !same { return }
        }
    }

    @Test(arguments: Array(UInt64(1)...UInt64(10)))
    func tumblingMatchesBruteForceWithLateness(seed: UInt64) throws {
        // disorder 120 > bound 20: some events are late; lateness 25 lets part of them update
        let evs = randomStream(seed: seed, count: 400, keys: 4, step: 3, disorder: 120)
        let offset = Int64(seed % 3) * 7 - 7
        let spec = WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 50, offset: offset), allowedLateness: 25,
                              aggregates: oracleAggregates)
        let got = try runGraph(evs, window: spec, bound: 20)
        let want = alignedOracle(evs, size: 50, slide: 50, offset: offset, lateness: 25, bound: 20)
        expectSame(got.emissions, want.emissions, "tumbling seed \(seed)")
        #expect(got.late == want.late)
        #expect(!want.late.isEmpty && want.emissions.contains { $0.kind == .lateUpdate }, "stream exercises lateness")
    }

    @Test(arguments: Array(UInt64(11)...UInt64(18)))
    func hoppingMatchesBruteForceWithLateness(seed: UInt64) throws {
        let evs = randomStream(seed: seed, count: 300, keys: 3, step: 4, disorder: 80)
        let spec = WindowSpec(name: "w", keyBy: "k", kind: .hopping(size: 60, hop: 20, offset: 5), allowedLateness: 15,
                              aggregates: oracleAggregates)
        let got = try runGraph(evs, window: spec, bound: 30)
        let want = alignedOracle(evs, size: 60, slide: 20, offset: 5, lateness: 15, bound: 30)
        expectSame(got.emissions, want.emissions, "hopping seed \(seed)")
        #expect(got.late == want.late)
    }

    /// Distinct counts (sparse HyperLogLogs that promote to dense ones) equal a dense sketch built
    /// from scratch over each window's values, bit for bit: the estimate depends only on the
    /// registers, whatever the representation. Many keys churn, so freed window entries are
    /// reused; precision 4 promotes to dense after a few values, precision 12 mostly stays sparse.
    @Test(arguments: [(UInt64(41), false), (42, true), (43, false), (44, true)])
    func distinctCountsEqualADenseSketchOfTheWindow(seed: UInt64, hopping: Bool) throws {
        let evs = randomStream(seed: seed, count: 2_000, keys: 20, step: 2, disorder: 30)
        func dense(_ evs: [TestEvent], precision: Int) -> Double {
            var h = try! HyperLogLog(precision: precision)
            for e in evs { h.insert(e.value) }
            return h.estimate
        }
        let oracle: ([TestEvent]) -> [Double] = { [Double($0.count), dense($0, precision: 4), dense($0, precision: 12)] }
        let aggs: [AggregateSpec] = [.count(), .distinct("v", precision: 4, as: "d4"), .distinct("v", precision: 12, as: "d12")]
        let (size, slide): (Int64, Int64) = hopping ? (600, 200) : (400, 400)
        let kind: WindowKind = hopping ? .hopping(size: size, hop: slide) : .tumbling(size: size)
        let spec = WindowSpec(name: "w", keyBy: "k", kind: kind, allowedLateness: 10, aggregates: aggs)
        let got = try runGraph(evs, window: spec, bound: 15)
        let want = alignedOracle(evs, size: size, slide: slide, offset: 0, lateness: 10, bound: 15, aggregate: oracle)
        let g = sorted(got.emissions), w = sorted(want.emissions)
        #expect(g.count == w.count)
        for (a, b) in zip(g, w) {
            #expect(a.key == b.key && a.start == b.start && a.kind == b.kind && a.values == b.values, "seed \(seed): got \(a), expected \(b)")
            if a.values != b.values { break }
        }
        #expect(w.contains { $0.values[0] > 6 }, "some windows promote the precision-4 sketch")
    }

    @Test(arguments: Array(UInt64(21)...UInt64(28)))
    func hoppingWithNonDividingHopMatchesBruteForce(seed: UInt64) throws {
        let evs = randomStream(seed: seed, count: 250, keys: 2, step: 5, disorder: 40)
        let spec = WindowSpec(name: "w", keyBy: "k", kind: .hopping(size: 70, hop: 30), allowedLateness: 0,
                              aggregates: oracleAggregates)
        let got = try runGraph(evs, window: spec, bound: 10)
        let want = alignedOracle(evs, size: 70, slide: 30, offset: 0, lateness: 0, bound: 10)
        expectSame(got.emissions, want.emissions, "hopping(70,30) seed \(seed)")
        #expect(got.late == want.late)
    }

    @Test(arguments: Array(UInt64(31)...UInt64(38)))
    func slidingMatchesBruteForce(seed: UInt64) throws {
        let evs = randomStream(seed: seed, count: 300, keys: 3, step: 3, disorder: 50)
        let n: Int64 = 40, lateness: Int64 = 10, bound: Int64 = 20
        let spec = WindowSpec(name: "w", keyBy: "k", kind: .sliding(length: n), allowedLateness: lateness, aggregates: oracleAggregates)
        let got = try runGraph(evs, window: spec, bound: bound)
        var want: [Emission] = []
        var late: [Int] = []
        var accepted: [TestEvent] = []
        var maxTs = Int64.min
        for (i, e) in evs.enumerated() {
            let wm = maxTs == .min ? Int64.min : maxTs - bound - 1
            if e.ts + lateness <= wm { late.append(i) } else {
                accepted.append(e)
                let inWin = accepted.filter { $0.key == e.key && $0.ts > e.ts - n && $0.ts <= e.ts }
                want.append(Emission(key: e.key, start: e.ts - n + 1, end: e.ts + 1, kind: .perEvent, values: bruteAggregates(inWin)))
            }
            maxTs = max(maxTs, e.ts)
        }
        #expect(got.late == late)
        #expect(!late.isEmpty)
        #expect(got.emissions.count == want.count)
        for (a, b) in zip(got.emissions, want) {
            let same = a.key == b.key && a.start == b.start && a.end == b.end && a.kind == b.kind && valuesClose(a.values, b.values)
            #expect(same, "sliding seed \(seed): got \(a), expected \(b)")
            if !same { break }
        }
    }

    @Test(arguments: Array(UInt64(41)...UInt64(50)))
    func sessionMatchesBruteForce(seed: UInt64) throws {
        // bursts with gaps: events 0-10 ms apart inside a burst, bursts 0-60 ms apart; disorder ≤ bound
        var g = SeededGenerator(seed: seed)
        var t: Int64 = 10_000
        var evs: [TestEvent] = []
        for _ in 0..<250 {
            t += Bool.random(using: &g) ? Int64.random(in: 0...10, using: &g) : Int64.random(in: 20...60, using: &g)
            let ts = t - Int64.random(in: 0...25, using: &g)
            let k = Int.random(in: 0..<3, using: &g)
            evs.append(TestEvent(key: k, ts: ts, value: Double((ts * 31 + Int64(k)) % 500) / 10))
        }
        let gap: Int64 = 15
        let aggs = Array(oracleAggregates.dropLast())  // ewma is not mergeable
        let spec = WindowSpec(name: "s", keyBy: "k", kind: .session(gap: gap), aggregates: aggs)
        let got = try runGraph(evs, window: spec, bound: 25)
        #expect(got.late.isEmpty)
        // oracle: per key, sort by time, merge while next.ts ≤ current end (touching merges)
        var sessions: [(key: Int, start: Int64, end: Int64, events: [TestEvent])] = []
        for k in 0..<3 {
            let ks = evs.filter { $0.key == k }.sorted { $0.ts < $1.ts }
            var cur: (Int64, Int64, [TestEvent])? = nil
            for e in ks {
                if let c = cur, e.ts <= c.1 { cur = (c.0, max(c.1, e.ts + gap), c.2 + [e]) } else {
                    if let c = cur { sessions.append((k, c.0, c.1, c.2)) }
                    cur = (e.ts, e.ts + gap, [e])
                }
            }
            if let c = cur { sessions.append((k, c.0, c.1, c.2)) }
        }
        #expect(sessions.count > 20)
        for s in sessions {
            // the session's events in arrival order
            let arrival = evs.filter { e in e.key == s.key && e.ts >= s.start && e.ts < s.end }
            let last = got.emissions.last { $0.key == s.key && $0.start == s.start && $0.end == s.end }
            #expect(last != nil, "session k\(s.key) [\(s.start),\(s.end)) not emitted")
            if let last { #expect(valuesClose(last.values, bruteAggregates(arrival, ewma: false)), "session \(last)") }
        }
        for e in got.emissions {
            #expect(sessions.contains { $0.key == e.key && $0.start <= e.start && e.end <= $0.end }, "emission \(e) outside any session")
        }
    }

    @Test(arguments: Array(UInt64(51)...UInt64(56)))
    func countWindowsMatchBruteForce(seed: UInt64) throws {
        let evs = randomStream(seed: seed, count: 300, keys: 4, step: 2, disorder: 30)
        let spec = WindowSpec(name: "c", keyBy: "k", kind: .count(7), aggregates: oracleAggregates)
        let got = try runGraph(evs, window: spec, bound: 0)
        var want: [Emission] = []
        var buf: [Int: [TestEvent]] = [:], seq: [Int: Int64] = [:]
        for e in evs {
            buf[e.key, default: []].append(e)
            if buf[e.key]!.count == 7 {
                let s = seq[e.key, default: 0]
                want.append(Emission(key: e.key, start: s, end: s + 1, kind: .countReached, values: bruteAggregates(buf[e.key]!)))
                buf[e.key] = []; seq[e.key] = s + 1
            }
        }
        for (k, b) in buf where !b.isEmpty {
            let s = seq[k, default: 0]
            want.append(Emission(key: k, start: s, end: s + 1, kind: .flushed, values: bruteAggregates(b)))
        }
        expectSame(got.emissions, want, "count seed \(seed)")
        #expect(got.late.isEmpty)
    }
}
