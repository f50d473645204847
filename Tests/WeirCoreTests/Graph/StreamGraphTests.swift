import Foundation
import Testing
import WeirCore
import WeirTestSupport

@Suite struct StreamGraphTests {
    static let merchants = ["grocery", "fuel", "restaurant", "travel", "electronics"]

    /// The workload contract's graph (shared/bench/README.md), on a small stream.
    static func contractGraph(partitions: Int) throws -> StreamGraph {
        let schema = try Schema([
            .timestamp("ts"), .string("user"), .double("amount", min: 0), .category("merchant", allowed: merchants),
            .int("device_age_days", min: 0), .int("label", required: false, min: 0, max: 1),
        ])
        return try StreamGraph(GraphSpec(
            schema: schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 2000, partitionCount: partitions)),
            windows: [
                WindowSpec(name: "user", keyBy: "user", kind: .tumbling(size: 60_000), allowedLateness: 2000,
                           aggregates: [.count(), .sum("amount"), .mean("amount"), .max("amount")], emitResults: false),
                WindowSpec(name: "global", keyBy: nil, kind: .hopping(size: 300_000, hop: 60_000),
                           aggregates: [.count(), .sum("amount"), .mean("amount"), .max("amount"),
                                        .count("labeled", field: "label"), .sum("label", as: "positives")]),
            ],
            features: [
                .field("amount", scale: 0.01), .log1p("amount", scale: 0.2), .field("device_age_days", scale: 0.001),
                .window("user", column: "count", scale: 0.1), .window("user", column: "mean", scale: 0.01),
                .oneHot("merchant", prefix: "m_"),
            ]))
    }

    struct Ev { var ts: Int64; var user: String; var amount: Double; var merchant: Int; var age: Int; var label: Int?; var partition: Int32 }

    static func contractEvents(_ n: Int, seed: UInt64, partitions: Int) -> [Ev] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            let ts = 1_700_000_000_000 + Int64(i) * 250 - Int64.random(in: 0...1999, using: &g)
            let u = Int.random(in: 0..<40, using: &g)
            let amount = (exp(3.5 + 0.8 * g.nextGaussian()) * 100).rounded() / 100
            let label: Int? = Double.random(in: 0..<1, using: &g) < 0.3 ? Int.random(in: 0...1, using: &g) : nil
            return Ev(ts: ts, user: "u\(u)", amount: max(0.01, amount), merchant: Int.random(in: 0..<5, using: &g),
                      age: Int.random(in: 0..<2000, using: &g), label: label, partition: Int32(u % partitions))
        }
    }

    static func json(_ e: Ev) -> [UInt8] {
        var s = "{\"ts\":\(e.ts),\"user\":\"\(e.user)\",\"amount\":\(String(format: "%.2f", e.amount)),\"merchant\":\"\(merchants[e.merchant])\",\"country\":\"NL\",\"device_age_days\":\(e.age)"
        if let l = e.label { s += ",\"label\":\(l)" }
        return Array((s + "}").utf8)
    }

    @Test(arguments: [1, 4])
    func contractFeaturesAndGlobalWindowsMatchReference(partitions: Int) throws {
        var g = try Self.contractGraph(partitions: partitions)
        let evs = Self.contractEvents(6000, seed: UInt64(partitions), partitions: partitions)
        // reference: workload.py's UserWindows and GlobalHopping, ported literally
        var userState: [String: [Int64: (c: Int, s: Double)]] = [:]
        var panes: [Int64: (c: Int, s: Double, m: Double, lab: Int, pos: Int)] = [:]
        var pmax: [Int32: Int64] = [:]
        var wm = Int64.min
        var nextEnd: Int64? = nil
        var emittedRef: [[Double]] = []
        var got: [[Double]] = []
        var maxErr = 0.0
        for (i, e) in evs.enumerated() {
            let amount = (String(format: "%.2f", e.amount) as NSString).doubleValue
            let ws = e.ts - e.ts % 60_000
            var st = userState[e.user] ?? [:]
            if var a = st[ws] { a.c += 1; a.s += amount; st[ws] = a } else {
                st[ws] = (1, amount)
                if st.count > 2 { st.removeValue(forKey: st.keys.min()!) }
            }
            userState[e.user] = st
            let (uc, us) = st[ws]!
            var want = [amount / 100, log1p(amount) / 5, Double(e.age) / 1000, Double(uc) / 10, us / Double(uc) / 100]
            want += (0..<5).map { $0 == e.merchant ? 1.0 : 0.0 }
            // global hopping
            #expect(e.ts >= wm, "reference: no late events in this stream")
            let ps = e.ts - e.ts % 60_000
            if panes[ps] == nil {
                panes[ps] = (0, 0, -.infinity, 0, 0)
                if nextEnd == nil || (emittedRef.isEmpty && ps + 60_000 < nextEnd!) { nextEnd = ps + 60_000 }
            }
            panes[ps]!.c += 1; panes[ps]!.s += amount; panes[ps]!.m = max(panes[ps]!.m, amount)
            if let l = e.label { panes[ps]!.lab += 1; panes[ps]!.pos += l }
            if pmax[e.partition] == nil || e.ts > pmax[e.partition]! {
                pmax[e.partition] = e.ts
                if pmax.count == partitions {
                    let w = pmax.values.min()! - 2000
                    if w > wm {
                        wm = w
                        while let end = nextEnd, wm >= end {
                            var c = 0, s = 0.0, m = -Double.infinity, lab = 0, pos = 0
                            for p in stride(from: end - 300_000, to: end, by: 60_000) {
                                if let x = panes[p] { c += x.c; s += x.s; m = max(m, x.m); lab += x.lab; pos += x.pos }
                            }
                            if c > 0 { emittedRef.append([Double(end - 300_000), Double(c), s, s / Double(c), m, Double(lab), Double(pos)]) }
                            nextEnd = end + 60_000
                        }
                    }
                }
            }
            g.process(Self.json(e), partition: e.partition, offset: Int64(i), now: 0)
            #expect(g.outputs.deadLetters.isEmpty && g.outputs.late.isEmpty)
            let f = Array(g.outputs.features.vector(0))
            for (a, b) in zip(f, want) { maxErr = max(maxErr, abs(a - b) / max(1, abs(b))) }
            let r = g.outputs.windowResults
            for j in 0..<r.count { got.append([Double(r.start[j])] + Array(r.values(j))) }
            g.clearOutputs()
        }
        #expect(maxErr < 1e-12, "feature vectors equal the reference")
        #expect(g.assembler!.names == ["amount", "log1p_amount", "device_age_days", "user_count", "user_mean",
                                       "m_grocery", "m_fuel", "m_restaurant", "m_travel", "m_electronics"])
        #expect(emittedRef.count >= 15)
        #expect(got.count == emittedRef.count)
        for (a, b) in zip(got, emittedRef) {
            #expect(a.count == b.count && zip(a, b).allSatisfy { isClose($0, $1, relative: 1e-12) }, "\(a) vs \(b)")
        }
    }

    @Test func batchesRouteDeadLettersWithPartitionAndOffset() throws {
        var g = try Self.contractGraph(partitions: 2)
        var batch = InputBatch()
        let evs = Self.contractEvents(6, seed: 9, partitions: 2)
        batch.append(Self.json(evs[0]), partition: 0, offset: 100)
        batch.append(Array(#"{"ts":1,"user":"x","amount":-5,"merchant":"fuel","device_age_days":1}"#.utf8), partition: 1, offset: 7)
        batch.append(Self.json(evs[1]), partition: 1, offset: 8)
        batch.append(Array("not json".utf8), partition: 0, offset: 101)
        batch.append(Self.json(evs[2]), partition: 0, offset: 102)
        g.process(batch, now: 0)
        #expect(g.outputs.records.count == 3)
        #expect(g.outputs.records.offsets == [100, 8, 102])
        #expect(g.outputs.features.count == 3 && g.outputs.features.recordRows == [0, 1, 2])
        #expect(g.outputs.deadLetters == [
            DeadLetter(partition: 1, offset: 7, error: .outOfRange(field: 2, name: "amount", value: -5, offset: 28)),
            DeadLetter(partition: 0, offset: 101, error: .malformedJSON(offset: 0, issue: .expectedObject)),
        ])
        #expect(g.deadLetterCount == 2 && g.recordsProcessed == 3)
        batch.removeAll()
        batch.append(Self.json(evs[3]), partition: 0, offset: 103)
        g.process(batch, now: 1)
        #expect(g.outputs.records.count == 1 && g.outputs.deadLetters.isEmpty, "outputs are per batch")
    }

    @Test func processingTimeWindowsFollowTheWallClock() throws {
        var g = try StreamGraph(GraphSpec(schema: try schemaTKV(), time: .processingTime,
                                          windows: [WindowSpec(name: "w", keyBy: nil, kind: .tumbling(size: 1000), aggregates: [.count(), .sum("v")])]))
        for (ts, now) in [(5, 100), (999_999, 200), (1, 900), (3, 1_000)] as [(Int64, Int64)] {
            g.process(TestEvent(key: 0, ts: ts, value: 1).json, now: now)
        }
        var e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1 && e[0].start == 0 && e[0].values == [3, 3], "event times are ignored; [0,1000) fires at now = 1000")
        g.clearOutputs()
        g.tick(now: 2_000)
        e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1 && e[0].start == 1000 && e[0].values == [1, 1])
        #expect(g.outputs.records.count == 0)
    }

    @Test func invalidGraphsAreRejected() throws {
        let s = try schemaTKV()
        let w = WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 10), aggregates: [.count()])
        let t = TimeMode.eventTime(field: "ts", watermark: WatermarkConfig())
        #expect(throws: SchemaError.duplicateName("w")) { _ = try StreamGraph(GraphSpec(schema: s, time: t, windows: [w, w])) }
        #expect(throws: SchemaError.unknownWindow(name: "x")) { _ = try StreamGraph(GraphSpec(schema: s, time: t, windows: [w], features: [.window("x", column: "count")])) }
        #expect(throws: SchemaError.unknownAggregate(window: "w", name: "sum")) { _ = try StreamGraph(GraphSpec(schema: s, time: t, windows: [w], features: [.window("w", column: "sum")])) }
        #expect(throws: SchemaError.unknownField(name: "nope")) { _ = try StreamGraph(GraphSpec(schema: s, time: .eventTime(field: "nope", watermark: WatermarkConfig()))) }
        #expect(throws: SchemaError.self) { _ = try StreamGraph(GraphSpec(schema: s, time: t, windows: [WindowSpec(name: "h", keyBy: nil, kind: .hopping(size: 10, hop: 20), aggregates: [.count()])])) }
        #expect(throws: SchemaError.self) { _ = try StreamGraph(GraphSpec(schema: s, time: t, features: [.oneHot("k")])) }
    }
}
