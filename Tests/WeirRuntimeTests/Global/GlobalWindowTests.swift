import Foundation
import Testing
import WeirCore
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `by: global` windows of a partitioned topology (`docs/scaling.md`), without Kafka: tasks send
/// the fields these windows read with each event of their `GlobalBatch`; the global stage runs
/// the windows over the events merged in event-time order (``GlobalInputMerge``), at the minimum
/// of the tasks' watermarks. Compared with one whole pipeline reading the same events in the
/// merge's order (what `weir run --order timestamp` reads), and with a brute-force oracle.
@Suite struct GlobalWindowTests {
    /// card-fraud (with its `global_mean_5m`) plus the benchmark contract's six emitted global
    /// windows and one of every other aggregate, over hopping (panes), tumbling and count windows.
    static func topology(extra: String = "") throws -> CompiledTopology {
        var text = try String(contentsOfFile: ExternalTool.repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let hop = "window: {hopping: 5m, hop: 1m}, by: global"
        let added = """
          g_count: {\(hop), aggregate: count, emit: true}
          g_sum: {\(hop), aggregate: sum, field: amount}
          g_max: {\(hop), aggregate: max, field: amount}
          g_labeled: {\(hop), aggregate: count, field: label}
          g_positives: {\(hop), aggregate: sum, field: label}
          g_min: {\(hop), aggregate: min, field: amount}
          g_std: {\(hop), aggregate: stddev, field: amount}
          g_var: {\(hop), aggregate: variance, field: amount}
          g_first: {\(hop), aggregate: first, field: amount}
          g_last: {\(hop), aggregate: last, field: amount}
          g_q90: {\(hop), aggregate: quantile, quantile: 0.9, field: amount}
          g_distinct_age: {\(hop), aggregate: distinct_count, field: device_age_days}
          g_top_age: {\(hop), aggregate: top_k, k: 3, field: device_age_days}
          g_merchants: {\(hop), aggregate: count, field: merchant}
          t_ewma: {window: {tumbling: 1m}, by: global, aggregate: ewma, alpha: 0.1, field: amount, emit: true}
          t_mean: {window: {tumbling: 1m}, by: global, aggregate: mean, field: amount}
          c_mean: {window: {count: 777}, by: global, aggregate: mean, field: amount, emit: true}
        \(extra)
        """
        text = text.replacingOccurrences(of: "  amount_scaled:", with: added + "\n  amount_scaled:")
        return try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "card-fraud-global.yaml"))
    }

    static func partition(of line: String, _ n: Int) -> Int32 {
        let user = line.range(of: #""user":"[^"]*""#, options: .regularExpression).map { String(line[$0]) } ?? ""
        return Int32(user.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 } % UInt32(n))
    }

    static func eventTime(_ line: String) -> Int64 {
        let r = line.range(of: #""ts":-?[0-9]+"#, options: .regularExpression)!
        return Int64(line[r].dropFirst(5))!
    }

    struct Outcome {
        var whole = RecordingSink()
        var global = RecordingSink()
        var events: [(time: Int64, amount: Double)] = []
        var skipped = 0
    }

    /// `events` card-fraud events on `partitions` partitions (`empty`: a partition with none),
    /// tasks sending batches of `chunk` events; the global stage reads them in a seeded random
    /// arrival interleaving. With `restartAfter`, the global stage is checkpointed after that many
    /// batches, rebuilt from the checkpoint, and every task sends its last two batches again (a
    /// task restarted from an older checkpoint).
    static func run(events: Int, partitions: Int, chunk: Int, seed: UInt64, empty: Int32? = nil, restartAfter: Int? = nil) throws -> Outcome {
        let compiled = try topology()
        var generator = CardFraudGenerator(seed: seed, users: 500, driftAt: events / 2)
        generator.eventsPerSecond = 5  // many 5-minute windows
        var perPartition = Array(repeating: [String](), count: partitions)
        for i in 0..<events {
            let line = generator.event(i)
            var p = partition(of: line, partitions)
            if let e = empty, p == e { p = (p + 1) % Int32(partitions) }
            perPartition[Int(p)].append(line)
        }
        var out = Outcome()
        // The tasks: each reads its partition in chunks and sends one batch per chunk; a task
        // whose partition ended says so (an empty one at once).
        var batches = Array(repeating: [[UInt8]](), count: partitions)
        for p in 0..<partitions {
            var task = try Pipeline(compiled: compiled, partitions: 1, role: .task(partition: Int32(p)))
            var sink = RecordingSink()
            for start in stride(from: 0, to: perPartition[p].count, by: chunk) {
                var batch = InputBatch(capacity: chunk)
                for o in start..<min(start + chunk, perPartition[p].count) {
                    batch.append(Array(perPartition[p][o].utf8), partition: Int32(p), offset: Int64(o))
                }
                try task.process(batch, topic: "transactions", now: 0, into: &sink)
                var bytes: [UInt8] = []
                if task.takeGlobalBatch(into: &bytes) { batches[p].append(bytes) }
            }
            try task.partitionEnded(Int32(p), now: 0, into: &sink)
            var marker: [UInt8] = []
            #expect(task.takeGlobalBatch(into: &marker, flags: [.caughtUp, .ended]))
            batches[p].append(marker)
            #expect(sink.count(.windows) == 0, "a task writes no by: global window record")
        }
        // One whole pipeline reading the merge's order: ascending event time, ties to the lower
        // partition, each partition's order kept.
        var whole = try Pipeline(compiled: compiled, partitions: partitions, role: .whole)
        var heads = Array(repeating: 0, count: partitions)
        var merged = InputBatch(capacity: events)
        while true {
            var best: (Int64, Int)?
            for p in 0..<partitions where heads[p] < perPartition[p].count {
                let k = (eventTime(perPartition[p][heads[p]]), p)
                if best == nil || k < best! { best = k }
            }
            guard let (_, p) = best else { break }
            let line = perPartition[p][heads[p]]
            merged.append(Array(line.utf8), partition: Int32(p), offset: Int64(heads[p]))
            heads[p] += 1
            if merged.count == chunk {
                try whole.process(merged, topic: "transactions", now: 0, into: &out.whole)
                merged = InputBatch(capacity: chunk)
            }
        }
        try whole.process(merged, topic: "transactions", now: 0, into: &out.whole)
        for p in 0..<partitions { try whole.partitionEnded(Int32(p), now: 0, into: &out.whole) }
        for p in 0..<partitions { for l in perPartition[p] { out.events.append((eventTime(l), Self.amount(l))) } }

        // The global stage: batches arrive in a random interleaving of the partitions.
        var rng = SeededGenerator(seed: seed &+ 99)
        var global = try Pipeline(compiled: compiled, partitions: partitions, role: .global)
        var merge = GlobalInputMerge(partitions: partitions)
        var sent = Array(repeating: 0, count: partitions)
        var globalOffset = Array(repeating: Int64(0), count: partitions)
        var added = 0
        func drain() throws {
            while let r = merge.next() {
                try global.processGlobal(merge.batch(r.partition), events: r.range, now: 0, into: &out.global)
                merge.advance(r)
            }
        }
        // A batch's offset in `<name>.global`: its index the first time it is sent; sent again, the next one.
        func add(_ p: Int, _ bytes: [UInt8], at offset: Int64?) throws {
            let o = offset ?? max(globalOffset[p], Int64(batches[p].count))
            try bytes.withUnsafeBytes { try merge.add(partition: Int32(p), offset: o, bytes: $0) }
            if offset == nil { globalOffset[p] = o + 1 }
        }
        while sent.enumerated().contains(where: { $0.element < batches[$0.offset].count }) {
            let open = (0..<partitions).filter { sent[$0] < batches[$0].count }
            let p = open[Int(rng.next(below: UInt64(open.count)))]
            try add(p, batches[p][sent[p]], at: Int64(sent[p]))
            sent[p] += 1
            added += 1
            try drain()
            if added == restartAfter {
                // Checkpoint; restart from it, reading `<name>.global` again from where the
                // checkpoint says (the batches still held), after which every task sends its two
                // newest batches again (a task restarted from an older checkpoint).
                try global.settle(into: &out.global)
                let state = global.globalStageState(processed: merge.processedSourceOffset)
                let resume = merge.resumeOffsets
                let first = (0..<partitions).map { q in resume[Int32(q)].map { Int($0) } ?? 0 }
                let before = merge.skippedDuplicates
                global = try Pipeline(compiled: compiled, partitions: partitions, role: .global)
                let processed = try global.restoreGlobalStageState(state)
                merge = GlobalInputMerge(partitions: partitions, processed: processed)
                for q in 0..<partitions {
                    for b in first[q]..<sent[q] { try add(q, batches[q][b], at: Int64(b)) }
                    for b in max(0, sent[q] - 2)..<sent[q] { try add(q, batches[q][b], at: nil) }
                }
                try drain()
                out.skipped = merge.skippedDuplicates + before
            }
        }
        try drain()
        try global.settle(into: &out.global)
        #expect(merge.allEnded)
        return out
    }

    static func amount(_ line: String) -> Double {
        let r = line.range(of: #""amount":[-0-9.eE+]+"#, options: .regularExpression)!
        return Double(line[r].dropFirst(9))!
    }

    static func windowRecords(_ s: RecordingSink) -> [String] {
        s.records.filter { $0.kind == OutputKind.windows.rawValue }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    static func lateRecords(_ s: RecordingSink, windows: Set<String>) throws -> [String] {
        try s.objects(.late).filter { windows.contains($0["window"] as! String) }.map { "\($0["window"]!)/\($0["partition"]!)/\($0["offset"]!)" }.sorted()
    }

    /// The window records equal the whole pipeline's byte for byte (as a set: the global stage
    /// fires a window when a batch's watermark passes it, one instance at the event that moves
    /// its watermark), and the emitted hopping windows equal a brute-force count, sum and max.
    static func expectSameWindows(_ o: Outcome, label: String) throws {
        let whole = windowRecords(o.whole), global = windowRecords(o.global)
        #expect(whole.count > 50, "\(label): \(whole.count) window records")
        #expect(global.count == whole.count, "\(label): \(global.count) window records vs \(whole.count)")
        #expect(global.sorted() == whole.sorted(), "\(label): window records differ")
        for (a, b) in zip(global.sorted(), whole.sorted()) where a != b {
            Issue.record("\(label):\n\(a)\n\(b)")
            break
        }
        // Count windows (arrival order) come out in the same order.
        let counted = { (r: [String]) in r.filter { $0.contains("\"kind\":\"count\"") } }
        #expect(counted(global) == counted(whole) && !counted(whole).isEmpty, "\(label): count windows")
        // Brute force over every event: the hopping window's count, sum and max.
        func amounts(_ start: Int64, _ end: Int64) -> [Double] { o.events.filter { $0.time >= start && $0.time < end }.map(\.amount) }
        var checked = 0
        for r in global {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(r.utf8)) as? [String: Any])
            guard let values = object["values"] as? [String: Double], let n = values["g_count"] else { continue }
            let start = Int64(object["start"] as! Int), end = Int64(object["end"] as! Int)
            let inside = amounts(start, end)
            #expect(Double(inside.count) == n, "\(label): window \(start) count")
            #expect((inside.max() ?? 0) == values["g_max"]!, "\(label): window \(start) max")
            let sum = inside.reduce(0, +)
            #expect(abs(sum - values["g_sum"]!) <= 1e-9 * max(1, abs(sum)), "\(label): window \(start) sum \(sum) vs \(values["g_sum"]!)")
            checked += 1
        }
        #expect(checked > 20, "\(label): \(checked) hopping windows checked")
        let names = Set(try o.whole.objects(.windows).map { $0["window"] as! String })
        #expect(try lateRecords(o.global, windows: names) == lateRecords(o.whole, windows: names), "\(label): late events of the global windows")
    }

    @Test(arguments: [(4, 500, UInt64(1)), (3, 137, UInt64(2)), (1, 1000, UInt64(3))])
    func theGlobalStageWritesOnePipelinesWindowRecords(partitions: Int, chunk: Int, seed: UInt64) throws {
        let o = try Self.run(events: 12_000, partitions: partitions, chunk: chunk, seed: seed)
        try Self.expectSameWindows(o, label: "\(partitions) partitions, chunks of \(chunk)")
    }

    /// A bounded run where one partition has no event: its task ends at once and does not hold
    /// the global stage's watermark back; the windows fire as one instance's do.
    @Test func anEmptyPartitionDoesNotHoldTheGlobalWindowsBack() throws {
        let o = try Self.run(events: 8_000, partitions: 4, chunk: 400, seed: 7, empty: 2)
        try Self.expectSameWindows(o, label: "partition 2 empty")
        #expect(Self.windowRecords(o.global).allSatisfy { !$0.contains("\"kind\":\"flushed\"") })
    }

    /// The global stage checkpointed mid-stream, rebuilt from its checkpoint, and fed every
    /// task's last two batches again: nothing counted twice (the re-sent events are skipped by
    /// source offset before they reach the windows), nothing lost.
    @Test func aRestartedGlobalStageCountsEachEventOnce() throws {
        let o = try Self.run(events: 10_000, partitions: 4, chunk: 250, seed: 11, restartAfter: 21)
        #expect(o.skipped > 0, "no event was sent twice")
        try Self.expectSameWindows(o, label: "restart after 21 batches")
    }

    @Test func aTaskRunsCardFraudWithItsGlobalWindowAndRefusesItAsAModelInput() throws {
        let shipped = try TopologyCompiler.compile(try TopologyLoader.load(path: ExternalTool.repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path))
        let task = try Pipeline(compiled: shipped, role: .task(partition: 0))
        #expect(task.graph.windows.allSatisfy { $0.isKeyed }, "a task does not run by: global windows")
        #expect(task.globalWindowFields.map { shipped.graph.schema.fields[$0].name } == ["amount"])

        var text = try String(contentsOfFile: ExternalTool.repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        text = text.replacingOccurrences(of: "inputs: [amount_scaled,", with: "inputs: [global_scaled, amount_scaled,")
            .replacingOccurrences(of: "  amount_scaled:", with: "  global_scaled: \"global_mean_5m / 100\"\n  amount_scaled:")
        let reading = try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "card-fraud.yaml"))
        #expect(throws: (any Error).self) { _ = try Pipeline(compiled: reading, role: .task(partition: 0)) }
        do { _ = try Pipeline(compiled: reading, role: .task(partition: 0)) } catch {
            #expect("\(error)".contains("model input global_scaled reads a by: global window (global_mean_5m)"), "\(error)")
            #expect("\(error)".contains("--partitioned"))
        }
        _ = try Pipeline(compiled: reading, role: .whole)

        let open = try Self.topology(extra: "  g_top_merchant: {window: {hopping: 5m, hop: 1m}, by: global, aggregate: top_k, k: 2, field: merchant}")
        do {
            _ = try Pipeline(compiled: open, role: .task(partition: 0))
            Issue.record("top_k over an open category was accepted")
        } catch {
            #expect("\(error)".contains("g_top_merchant (over merchant)") && "\(error)".contains("categories"), "\(error)")
        }
    }
}
