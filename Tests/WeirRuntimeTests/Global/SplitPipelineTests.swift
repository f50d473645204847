import Foundation
import Testing
import WeirCore
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// The two stages of a partitioned topology (`docs/scaling.md`), in one process without Kafka:
/// tasks of three source partitions feed the global stage through encoded ``GlobalBatchReader``
/// batches, merged event by event in stream order, with weights broadcast back after every
/// chunk. Compared with one whole pipeline reading the same three partitions.
@Suite struct SplitPipelineTests {
    /// card-fraud (its `by: global` window run by the global stage, `GlobalWindowTests`), with
    /// smaller drift windows so that 40,000 events close many of them.
    static func topology() throws -> CompiledTopology {
        var text = try String(contentsOfFile: ExternalTool.repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        text = text.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 5000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 2000}")
            .replacingOccurrences(of: "  optimizer: sgd", with: "  optimizer: sgd\n  emit_features: true")
        return try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "card-fraud.yaml"))
    }

    static let tasks = 3
    static func task(of line: String) -> Int32 {
        // The key field's value (`"user":"u42"`) decides the partition, as a producer keyed by it would.
        let user = line.range(of: #""user":"[^"]*""#, options: .regularExpression).map { String(line[$0]) } ?? ""
        return Int32(user.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 } % UInt32(tasks))
    }

    struct Run {
        var whole = RecordingSink()
        var global = RecordingSink()
        var tasks: [RecordingSink] = Array(repeating: RecordingSink(), count: SplitPipelineTests.tasks)
        var wholeSummary = "", globalSummary = ""
        var batches = 0, bytes = 0
    }

    /// - Parameter afterChunk: called with the global stage after each chunk it processed (settled).
    /// - Parameter metrics: fed as `weir run` feeds them: `whole` per whole batch, `split` per
    ///   task batch and per global-stage chunk, each pipeline with its own ``RuntimeMetrics/Seen``.
    static func run(events: Int, chunk: Int, metrics: (whole: RuntimeMetrics, split: RuntimeMetrics)? = nil,
                    afterChunk: ((inout Pipeline, inout RecordingSink) throws -> Void)? = nil) throws -> Run {
        let compiled = try topology()
        let generator = CardFraudGenerator(seed: 5, users: 600, driftAt: events / 2)
        let lines = (0..<events).map { generator.event($0) }
        var out = Run()
        var whole = try Pipeline(compiled: compiled, partitions: tasks, role: .whole)
        var global = try Pipeline(compiled: compiled, partitions: tasks, role: .global)
        var taskPipelines = try (0..<tasks).map { try Pipeline(compiled: compiled, partitions: 1, role: .task(partition: Int32($0))) }
        var encoded = Array(repeating: [UInt8](), count: tasks)
        // The whole pipeline is counted with its own `Seen` too: the variants without one also
        // refresh the gauges when 500 ms of wall clock passed, which on a slow machine recorded the
        // window gauges after `finish` (every window freed: 0) over the explicit refresh below.
        var seen = taskPipelines.map { RuntimeMetrics.Seen($0) }, globalSeen = RuntimeMetrics.Seen(global), wholeSeen = RuntimeMetrics.Seen(whole)
        whole.monitorObserver = metrics?.whole  // drift and alert figures, as `weir run` and `GlobalStage` set them
        global.monitorObserver = metrics?.split
        for start in stride(from: 0, to: events, by: chunk) {
            let range = start..<min(events, start + chunk)
            var all = InputBatch(capacity: chunk)
            var per = (0..<tasks).map { _ in InputBatch(capacity: chunk) }
            for i in range {
                let p = task(of: lines[i])
                all.append(Array(lines[i].utf8), partition: p, offset: Int64(i))
                per[Int(p)].append(Array(lines[i].utf8), partition: p, offset: Int64(i))
            }
            try whole.process(all, topic: "transactions", now: 0, into: &out.whole)
            metrics?.whole.batchProcessed(whole, events: all.count, duration: .zero, seen: &wholeSeen)
            var readers: [(task: Int, next: Int)] = []
            for t in 0..<tasks {
                try taskPipelines[t].process(per[t], topic: "transactions", now: 0, into: &out.tasks[t])
                metrics?.split.batchProcessed(taskPipelines[t], events: per[t].count, duration: .zero, seen: &seen[t])
                if taskPipelines[t].takeGlobalBatch(into: &encoded[t]) {
                    readers.append((t, 0))
                    out.batches += 1
                    out.bytes += encoded[t].count
                }
            }
            // The global stage reads the tasks' batches merged in stream order (here the offset:
            // one line number across partitions), a run of one task's events at a time.
            try withReaders(encoded, readers.map(\.task)) { rs in
                try GlobalMerge.runs(rs, by: { $0.offset($1) }) { k, events in
                    try global.processGlobal(rs[k], events: events, now: 0, into: &out.global)
                }
                // Empty batches (only trailing dead letters) still count their dead letters.
                for k in rs.indices where rs[k].count == 0 { try global.processGlobal(rs[k], now: 0, into: &out.global) }
            }
            metrics?.split.outputsWritten(global, seen: &globalSeen)
            // The global stage broadcasts its champion; the tasks score with it from the next chunk.
            let weights = try ModelWeights(decoding: global.model!.weights(topology: compiled.spec.name, producedAtMs: Int64(start)).encoded(),
                                           topology: compiled.spec.name, optimizer: global.model!.optimizerName)
            for t in 0..<tasks { taskPipelines[t].useWeights(weights) }
            if let afterChunk {
                try global.settle(into: &out.global)
                try afterChunk(&global, &out.global)
            }
        }
        // Window gauges before the end fires every window.
        metrics?.whole.refreshGauges(whole)
        metrics?.split.refreshGauges(taskPipelines + [global])
        try whole.finish(into: &out.whole)
        for t in 0..<tasks { try taskPipelines[t].finish(into: &out.tasks[t]) }
        try global.settle(into: &out.global)
        try whole.settle(into: &out.whole)
        if let metrics {
            metrics.whole.outputsWritten(whole, seen: &wholeSeen)
            for t in 0..<tasks { metrics.split.outputsWritten(taskPipelines[t], seen: &seen[t]) }
            metrics.split.outputsWritten(global, seen: &globalSeen)
        }
        out.wholeSummary = whole.model!.metricsSummary
        out.globalSummary = global.model!.metricsSummary
        return out
    }

    static func withReaders(_ encoded: [[UInt8]], _ which: [Int], _ body: ([GlobalBatchReader]) throws -> Void) throws {
        func open(_ k: Int, _ acc: [GlobalBatchReader]) throws {
            guard k < which.count else { return try body(acc) }
            try encoded[which[k]].withUnsafeBytes { b in try open(k + 1, acc + [try GlobalBatchReader(b)]) }
        }
        try open(0, [])
    }

    static func text(_ r: RecordingSink.Record) -> String { String(decoding: r.value, as: UTF8.self) }

    @Test func theGlobalStageWritesWhatOnePipelineWrites() throws {
        let run = try Self.run(events: 40_000, chunk: 1_000)
        // Drift, alerts, retrain requests and model records: the same records, keys and source
        // positions, in the same order.
        for kind in [OutputKind.drift, .alerts, .retrain, .models] {
            let whole = run.whole.records.filter { $0.kind == kind.rawValue }
            let global = run.global.records.filter { $0.kind == kind.rawValue }
            #expect(whole.count == global.count, "\(kind)")
            for (a, b) in zip(whole, global) where a != b {
                Issue.record("\(kind) differs at source \(a.partition)/\(a.offset) vs \(b.partition)/\(b.offset):\n\(Self.text(a))\n\(Self.text(b))")
                break
            }
        }
        #expect(run.whole.count(.drift) >= 50 && run.whole.count(.alerts) > 0 && run.whole.count(.models) > 1)
        // Prequential metrics: the global stage re-scores before it learns, so they are exact.
        #expect(run.globalSummary == run.wholeSummary)
        #expect(run.batches >= 40 * Self.tasks - 3)
    }

    /// The global stage's checkpoints as `GlobalStage` writes them: a full image every 4, and
    /// increments between that leave out the drift references unchanged since the previous
    /// checkpoint. Every chain restores the uninterrupted stage's state bit for bit, and
    /// increments after the 5,000-event references are a fraction of a full image.
    @Test func theGlobalStagesIncrementsRestoreItsStateBitForBit() throws {
        let compiled = try Self.topology()
        var taken: [(full: Bool, bytes: [UInt8], expected: [UInt8], withReferences: Int, processed: [Int64], chunk: Int)] = []
        var mark: Pipeline.ReferenceMark?
        let run = try Self.run(events: 16_000, chunk: 1_000) { global, _ in
            let processed = (0..<Self.tasks).map { Int64(taken.count * 10 + $0) }  // any values: they round-trip
            let full = taken.count % 4 == 0
            let bytes = full ? global.globalStageState(processed: processed) : global.globalStageIncrement(processed: processed, unchangedSince: mark)
            let withReferences = full ? bytes.count : global.globalStageIncrement(processed: processed, unchangedSince: nil).count
            taken.append((full, bytes, global.globalStageState(processed: processed), withReferences, processed, taken.count))
            global.markCheckpointed()
            mark = global.referenceMark
        }
        #expect(run.global.count(.drift) > 10 && taken.count == 16)
        for k in taken.indices {
            var restored = try Pipeline(compiled: compiled, partitions: Self.tasks, role: .global)
            let start = (0...k).last { taken[$0].full }!
            var processed = try restored.restoreGlobalStageState(taken[start].bytes)
            for j in (start + 1)..<(k + 1) { processed = try restored.applyGlobalStageIncrement(taken[j].bytes) }
            #expect(restored.globalStageState(processed: taken[k].processed) == taken[k].expected, "checkpoint \(k) differs after restore from \(start)")
            #expect(processed == Dictionary(uniqueKeysWithValues: taken[k].processed.enumerated().map { (Int32($0.offset), $0.element) }))
        }
        // After the references are complete (5,000 events = chunk 5), an increment leaves out
        // the amount and device_age_days references (~40 kB each); the score monitor's (~600 kB
        // of reference inputs) only when no window closed since the previous checkpoint (each
        // close rescores it with the newest model, so it changes).
        let late = taken.filter { !$0.full && $0.chunk >= 6 }
        #expect(late.count >= 6)
        for t in late {
            #expect(t.bytes.count + 60_000 < t.withReferences, "increment after chunk \(t.chunk): \(t.bytes.count) bytes, \(t.withReferences) with every reference")
        }
        #expect(late.filter { $0.bytes.count + 500_000 < $0.withReferences }.count >= 3)
    }

    @Test func tasksComputeTheWholePipelinesKeyedFeaturesAndScoreWithBroadcastWeights() throws {
        let run = try Self.run(events: 20_000, chunk: 500)
        // Every event's keyed features (per-user counts, means, maxima over event-time windows):
        // identical; its score: with weights at most one chunk old.
        let whole = try run.whole.objects(.scores)
        let split = try run.tasks.flatMap { try $0.objects(.scores) }.sorted { ($0["offset"] as! Int) < ($1["offset"] as! Int) }
        #expect(whole.count == 20_000 && split.count == whole.count)
        var largest = 0.0, total = 0.0, featureMismatches = 0
        for (a, b) in zip(whole, split) {
            #expect(a["offset"] as! Int == b["offset"] as! Int && a["key"] as! String == b["key"] as! String)
            if (a["features"] as! [Double]) != (b["features"] as! [Double]) { featureMismatches += 1 }
            let d = abs((a["score"] as! Double) - (b["score"] as! Double))
            largest = max(largest, d)
            total += d
        }
        #expect(featureMismatches == 0)
        print("split scores vs one pipeline: mean |Δ| \(total / Double(whole.count)), largest \(largest)")
        #expect(total / Double(whole.count) < 0.01)
    }
}
