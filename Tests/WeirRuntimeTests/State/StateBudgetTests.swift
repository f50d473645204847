import Foundation
import Testing
import WeirCore
import WeirTopology
@testable import WeirRuntime

@Suite struct StateBudgetTests {
    /// Levels rise at 80% and 100% of the limit and fall back with hysteresis (below 90% and
    /// 70%), each change reported once.
    @Test func levelsRiseAtTheirThresholdsAndFallWithHysteresis() {
        var b = StateBudget(limit: 1_000)
        #expect(b.observe(bytes: 0) == nil && b.level == .normal)
        #expect(b.observe(bytes: 799) == nil)
        let p = b.observe(bytes: 800)
        #expect(p == StateBudget.Change(from: .normal, to: .pressure, bytes: 800, limit: 1_000) && p?.admitNewKeys == true)
        #expect(b.observe(bytes: 999) == nil)
        let r = b.observe(bytes: 1_000)
        #expect(r?.to == .refusingNewKeys && r?.admitNewKeys == false)
        #expect(b.observe(bytes: 950) == nil && b.observe(bytes: 900) == nil, "still refusing down to 90%")
        #expect(b.observe(bytes: 899)?.to == .pressure)
        #expect(b.observe(bytes: 700) == nil, "pressure holds down to 70%")
        #expect(b.observe(bytes: 699)?.to == .normal)
        // a jump over both thresholds, and a fall straight to normal
        #expect(b.observe(bytes: 5_000) == StateBudget.Change(from: .normal, to: .refusingNewKeys, bytes: 5_000, limit: 1_000))
        #expect(b.observe(bytes: 10)?.to == .normal)
        #expect(b.summary == "window state 0 KiB of its 0 KiB budget (normal)")
        #expect(StateBudget.size(524_288) == "512 KiB" && StateBudget.size(1_048_576) == "1 MiB" && StateBudget.size(2_621_440) == "3 MiB")
    }

    /// A topology whose state budget is far below what its keys need: past the limit new keys
    /// are refused (counted, not aggregated) while keys already held keep aggregating; as
    /// windows close and keys leave, new keys are admitted again. Without the budget the same
    /// stream refuses nothing.
    @Test func pipelineRefusesNewKeysAtTheLimitAndAdmitsThemAgain() throws {
        let yaml = """
            name: budget
            source: {topics: [in], key: user, event_time: ts}
            schema: {ts: timestamp, user: string, amount: double}
            features:
              n_1m: {window: {tumbling: 1m}, by: user, aggregate: count}
              merchants: {window: {tumbling: 1m}, by: user, aggregate: distinct_count, field: amount}
            """
        func run(limit: String?) throws -> (Pipeline, [StateBudget.Change], maxBytes: Int) {
            let spec = try TopologyLoader.parse(yaml + (limit.map { "\nstate: {memory_limit: \($0)}" } ?? ""))
            var pipeline = try Pipeline(compiled: try TopologyCompiler.compile(spec))
            var sink = RecordingSink()
            var changes: [StateBudget.Change] = []
            var maxBytes = 0
            var batch = InputBatch(capacity: 256)
            // 3 minutes of events, 20 ms apart, each from a new user: keys pile up within a minute
            for i in 0..<9_000 {
                let line = #"{"ts":\#(1_700_000_000_000 + Int64(i) * 20),"user":"u\#(i)","amount":\#(i % 13)}"#
                line.utf8CString.withUnsafeBytes { b in
                    batch.append(UnsafeRawBufferPointer(rebasing: b.dropLast()), partition: 0, offset: Int64(i))
                }
                if batch.count == 256 {
                    try pipeline.process(batch, topic: "in", now: 0, into: &sink)
                    batch.removeAll()
                    changes += pipeline.takeStateBudgetChanges()
                    maxBytes = max(maxBytes, pipeline.graph.windowStateBytesInUse)
                }
            }
            try pipeline.process(batch, topic: "in", now: 0, into: &sink)
            changes += pipeline.takeStateBudgetChanges()
            return (pipeline, changes, maxBytes)
        }
        let (free, freeChanges, freeMax) = try run(limit: nil)
        #expect(free.graph.windows.allSatisfy { $0.stats.rejectedKeyEvents == 0 } && freeChanges.isEmpty)
        let limit = freeMax / 3
        let (capped, changes, cappedMax) = try run(limit: String(limit))
        let rejected = capped.graph.windows.map(\.stats.rejectedKeyEvents)
        #expect(rejected.allSatisfy { $0 > 0 }, "new keys refused: \(rejected)")
        // a batch of 256 new keys may jump from normal straight past the limit
        #expect(changes.first.map { $0.from == .normal && $0.to > .normal } == true && changes.contains { $0.to == .refusingNewKeys },
                "\(changes)")
        #expect(changes.contains { $0.from == .refusingNewKeys && $0.admitNewKeys }, "keys admitted again as windows close: \(changes)")
        // one batch of new keys may overshoot the limit before the check
        #expect(cappedMax < limit + limit / 2, "max \(cappedMax) vs limit \(limit)")
        #expect(capped.counters.records == 9_000, "every event is still decoded and counted")
    }

    /// Refusing new keys makes the instance not ready, with the budget as the reason.
    @Test func refusingNewKeysIsAReadinessReason() {
        let status = RuntimeStatus()
        status.update { $0.running = true; $0.assignedPartitions = [0]; $0.stateRestored = true; $0.brokerReachable = true }
        var b = StateBudget(limit: 100)
        _ = b.observe(bytes: 85)
        status.setStateMemory(b)
        #expect(status.snapshot.isReady && status.snapshot.stateMemory?.contains("pressure") == true)
        _ = b.observe(bytes: 120)
        status.setStateMemory(b)
        #expect(!status.snapshot.isReady)
        #expect(status.snapshot.notReadyReasons.contains { $0.contains("memory budget") && $0.contains("refusing new keys") })
    }
}
