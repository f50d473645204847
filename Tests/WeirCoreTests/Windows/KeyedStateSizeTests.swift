import Testing
@testable import WeirCore

/// Keyed state grows with the data, not with the sketches' full size: many keys seen a few
/// times each cost a few hundred bytes per key, and the state gauge says so.
@Suite struct KeyedStateSizeTests {
    /// The demo's per-user feature shape (a distinct count over a 1 h window hopping by 5 min,
    /// precision 12 = a 4 KiB dense sketch) on 20,000 keys seen twice each; with a median
    /// (KLL, k = 200: 3.2 KB reserved before) and a top-2 of 20 counters too when `sketches`.
    @Test(arguments: [false, true])
    func aKeySeenTwiceCostsAFewHundredBytes(sketches: Bool) throws {
        let extra: [AggregateSpec] = sketches ? [.quantile("v", 0.5), .topK("k", k: 2, capacity: 20)] : []
        let w = WindowSpec(name: "w", keyBy: "k", kind: .hopping(size: 3_600_000, hop: 300_000),
                           aggregates: [.count(), .distinct("v", precision: 12), .mean("v")] + extra)
        var g = try StreamGraph(GraphSpec(schema: try schemaTKV(),
                                          time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 2_000)),
                                          windows: [w]))
        let keys = 20_000
        for i in 0..<(2 * keys) {
            // events 5 ms apart: every key's two events fall within one hour
            let e = TestEvent(key: i % keys, ts: 1_000_000 + Int64(i) * 5, value: Double(i % 7))
            g.process(e.json, partition: 0, offset: Int64(i), now: 0)
            g.clearOutputs()
        }
        let op = g.windows[0]
        #expect(op.keyCount == keys)
        let perKey = Double(op.stateBytes) / Double(keys)
        // a dense sketch alone would be 4,096 bytes a pane; sparse lists hold 1–2 pairs. The
        // rest is the pane entry, its slots, the key and the pane's 13 timers (one per window
        // of the pane that fires, one purge): ~560 bytes.
        #expect(perKey < (sketches ? 1_500 : 1_000), "\(perKey) bytes per key")
        #expect(op.store.sketchStorageBytes > 0 && op.store.sketchStorageBytes < keys * (sketches ? 300 : 64),
                "\(op.store.sketchStorageBytes) bytes held by sketches")
        // the running count equals a count of every sketch's storage
        var recount = op.store
        recount.recountSketchBytes()
        #expect(recount.sketchStorageBytes == op.store.sketchStorageBytes)
        // when the windows close and the keys leave, the registers are freed
        g.flush()
        g.clearOutputs()
        #expect(g.windows[0].keyCount == 0)
        // only the operator's scratch entry (windows are merged into it) keeps storage: pooled
        // sketches are emptied and hold none
        let after = g.windows[0].store
        var afterCount = after
        afterCount.recountSketchBytes()
        #expect(after.sketchStorageBytes == afterCount.sketchStorageBytes, "running count after churn")
        #expect(after.sketchStorageBytes >= 0 && after.sketchStorageBytes <= (sketches ? 400 : 16), "\(after.sketchStorageBytes)")
    }

    /// A sum beside a sketch in one window: huge sums (1e308, then +inf) never touch the sketch
    /// pools' indices (the update once converted every slot to an index and trapped).
    @Test func hugeSumsBesideASketchDoNotTrap() throws {
        let w = WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 1_000),
                           aggregates: [.sum("v"), .distinct("v"), .quantile("v", 0.5)])
        var g = try StreamGraph(GraphSpec(schema: try schemaTKV(), time: .eventTime(field: "ts", watermark: WatermarkConfig()),
                                          windows: [w]))
        for i in 0..<4 {
            g.process(TestEvent(key: 1, ts: 100 + Int64(i), value: 1e308).json, partition: 0, offset: Int64(i), now: 0)
        }
        g.flush()
        let e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1)
        // the sum overflowed to +inf and reads 0 (outputs are always finite); one distinct value
        #expect(e.first.map { $0.values[0] == 0 && abs($0.values[1] - 1) < 0.01 && $0.values[2] == 1e308 } == true, "\(e)")
    }
}
