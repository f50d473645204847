import Testing
import WeirCore

@Suite struct WindowBehaviourTests {
    private func graph(_ w: WindowSpec, bound: Int64 = 0, partitions: Int = 1, idle: Int64? = nil,
                       features: [FeatureSpec] = []) throws -> StreamGraph {
        try StreamGraph(GraphSpec(schema: try schemaTKV(),
                                  time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: bound, partitionCount: partitions, idleTimeout: idle)),
                                  windows: [w], features: features))
    }

    private func send(_ g: inout StreamGraph, _ ts: Int64, key: Int = 0, v: Double = 1, partition: Int32 = 0, offset: Int64 = 0, now: Int64 = 0) {
        g.process(TestEvent(key: key, ts: ts, value: v).json, partition: partition, offset: offset, now: now)
    }

    @Test func lateWithinLatenessUpdatesAndReEmitsLaterGoesToLateOutput() throws {
        var g = try graph(WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 10), allowedLateness: 5,
                                     aggregates: [.count(), .sum("v")]))
        send(&g, 5, v: 1, offset: 0)
        #expect(g.outputs.windowResults.count == 0)
        send(&g, 12, v: 2, offset: 1)                  // watermark 11 ≥ 9: [0,10) fires
        var e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1 && e[0].start == 0 && e[0].end == 10 && e[0].kind == .onTime && e[0].values == [1, 1])
        g.clearOutputs()
        send(&g, 7, v: 10, offset: 2)                  // 9 + 5 > 11: within lateness → update and re-emit
        e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1 && e[0].kind == .lateUpdate && e[0].values == [2, 11])
        #expect(g.outputs.late.isEmpty)
        g.clearOutputs()
        send(&g, 20, v: 3, offset: 3)                  // watermark 19 ≥ 14: [0,10) purged, [10,20) fires
        e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.count == 1 && e[0].start == 10 && e[0].values == [1, 2])
        g.clearOutputs()
        send(&g, 8, v: 100, partition: 0, offset: 4)   // too late: late output, counted, not aggregated
        #expect(g.outputs.windowResults.count == 0)
        #expect(g.outputs.late == [LateEvent(window: 0, partition: 0, offset: 4, eventTime: 8, watermark: 19, row: 0)])
        #expect(g.windows[0].stats.lateEvents == 1)
        #expect(g.windows[0].stats.lateUpdates == 1)
    }

    @Test func idlePartitionLetsWindowsFire() throws {
        var g = try graph(WindowSpec(name: "w", keyBy: nil, kind: .tumbling(size: 100), aggregates: [.count()]),
                          partitions: 2, idle: 1_000)
        send(&g, 50, partition: 0, now: 0)
        send(&g, 60, partition: 1, now: 0)
        for t in stride(from: 100, through: 1000, by: 100) { send(&g, Int64(t), partition: 0, now: Int64(t)) }
        #expect(g.outputs.windowResults.count == 0, "partition 1 holds the watermark at 59")
        g.tick(now: 999)
        #expect(g.outputs.windowResults.count == 0)
        g.tick(now: 1_000)                                   // partition 1 idle for 1 s
        let e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.map(\.start) == Array(stride(from: 0, through: 900, by: 100)).map(Int64.init))
        #expect(e.first?.values == [2])
    }

    @Test func lastWindowsFireWhenTrafficStops() throws {
        var g = try graph(WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 1_000), aggregates: [.count()]),
                          bound: 200, idle: 5_000)
        for i in 0..<50 { send(&g, 10_000 + Int64(i) * 37, key: i % 3, now: Int64(i)) }
        let before = g.outputs.windowResults.count
        g.tick(now: 4_000)
        #expect(g.outputs.windowResults.count == before, "not idle yet")
        g.tick(now: 5_049)                                   // idle: watermark follows wall-clock
        g.tick(now: 7_000)
        let e = emissions(g.outputs.windowResults, window: 0)
        #expect(e.contains { $0.start == 11_000 }, "the last window [11000, 12000) fired without new data")
        #expect(e.map { $0.values[0] }.reduce(0, +) == 50)
    }

    @Test func keyLimitRejectsNewKeysAndFreesClosedOnes() throws {
        var g = try graph(WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 10), aggregates: [.count()], maxKeys: 2),
                          features: [.window("w", column: "count")])
        send(&g, 1, key: 1); send(&g, 2, key: 2); send(&g, 3, key: 3)
        #expect(g.windows[0].stats.rejectedKeyEvents == 1)
        #expect(g.windows[0].keyCount == 2)
        #expect(Array(g.outputs.features.values) == [1, 1, 0], "a rejected event's window feature reads 0")
        send(&g, 4, key: 1)
        #expect(g.outputs.features.values.last == 2, "existing keys are unaffected")
        send(&g, 25, key: 1)                                 // watermark 24: [0,10) fired and purged
        #expect(g.windows[0].keyCount == 1, "key 2 freed with its last window")
        send(&g, 26, key: 3)
        #expect(g.windows[0].stats.rejectedKeyEvents == 1, "room again for a new key")
        #expect(g.windows[0].keyCount == 2)
    }

    @Test func closedWindowsAreFreedAndMemoryStaysBounded() throws {
        var g = try graph(WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 100), allowedLateness: 50,
                                     aggregates: [.count(), .mean("v"), .max("v")]), bound: 20)
        var peak = 0
        var bytesAt5k = 0
        for i in 0..<20_000 {
            send(&g, Int64(i), key: i % 500, offset: Int64(i))
            g.clearOutputs()
            peak = max(peak, g.windows[0].liveWindows)
            if i == 5_000 { bytesAt5k = g.windows[0].stateBytes }
        }
        #expect(peak <= 500 * 3, "at most ~3 live windows per key (current, previous within lateness)")
        #expect(g.windows[0].stateBytes <= bytesAt5k, "state does not grow with stream length")
    }
}
