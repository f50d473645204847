import Testing
@testable import WeirCore

/// Windows of many keys that close at the same time (every key's tumbling window, every key's
/// pane of one hop) are freed over a quarter of a slide of event time, not in one watermark
/// step; a window kept past its lateness is never read again: events for it are late and
/// features merge only the panes of windows in range.
@Suite struct PurgeSpreadTests {
    static let keys = 5000

    func makeGraph(outOfOrderness: Int64) throws -> StreamGraph {
        let schema = try Schema([.timestamp("ts"), .int("k")])
        return try StreamGraph(GraphSpec(
            schema: schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: outOfOrderness)),
            windows: [
                WindowSpec(name: "tumble", keyBy: "k", kind: .tumbling(size: 1000), aggregates: [.count()]),
                WindowSpec(name: "panes", keyBy: "k", kind: .hopping(size: 4000, hop: 1000), aggregates: [.count()]),
            ],
            features: [.window("panes", column: "count")]))
    }

    func event(_ g: inout StreamGraph, ts: Int64, key: Int) {
        g.process(Array("{\"ts\":\(ts),\"k\":\(key)}".utf8), partition: 0, offset: 0, now: 0)
    }

    @Test func tumblingWindowsClosingTogetherAreFreedOverAQuarterSlideAndLateEventsStayLate() throws {
        var g = try makeGraph(outOfOrderness: 0)
        let t = g.windowIndex("tumble")!
        for k in 0..<Self.keys { event(&g, ts: 100, key: k) }
        #expect(g.windows[t].liveWindows == Self.keys)
        // the watermark passes every window's end (999) by 1 ms: only some are freed yet
        event(&g, ts: 1001, key: -1)
        let lingering = g.windows[t].liveWindows - 1
        #expect(lingering > 0 && lingering < Self.keys, "\(lingering) of \(Self.keys) windows left one step past their end")
        // an event for a window kept past its end is late, and does not touch it
        g.clearOutputs()
        event(&g, ts: 500, key: 7)
        #expect(g.outputs.late.count == 1)
        #expect(g.windows[t].liveWindows - 1 == lingering)
        // a quarter of the 1 s slide later every one is freed
        event(&g, ts: 1000 + 260, key: -1)
        #expect(g.windows[t].liveWindows == 1)  // the marker key's window [1000, 2000)
    }

    @Test func panesKeptPastTheirLastWindowAreNotMergedIntoFeatures() throws {
        var g = try makeGraph(outOfOrderness: 300)
        let p = g.windowIndex("panes")!
        for k in 0..<Self.keys { event(&g, ts: 100, key: k) }
        #expect(g.windows[p].liveWindows == Self.keys)
        // watermark 4000: the panes [0, 1000) ended with their last window [0, 4000) at 3999
        event(&g, ts: 4300, key: -1)
        let lingering = g.windows[p].liveWindows - 1
        #expect(lingering > 0 && lingering < Self.keys)
        // every key's next event counts only itself: its window [1000, 5000) holds no old pane
        var counts: Set<Double> = []
        for k in 0..<Self.keys {
            g.clearOutputs()
            event(&g, ts: 4200, key: k)
            counts.insert(g.outputs.features.values[0])
        }
        #expect(counts == [1])
        event(&g, ts: 4300 + 260, key: -1)
        #expect(g.windows[p].liveWindows == Self.keys + 1, "the old panes are all freed: one new pane per key and one for the marker")
    }
}
