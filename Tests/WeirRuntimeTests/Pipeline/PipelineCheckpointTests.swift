import Foundation
import Testing
import WeirCore
import WeirTopology
@testable import WeirRuntime

/// Every output in order, with its kind, key, value and the source position the sink was given
/// (dead letters: kind -1, the original bytes and reason, their field and source).
struct RecordingSink: OutputSink {
    struct Record: Equatable {
        var kind: Int
        var key: [UInt8]?
        var value: [UInt8]
        var partition: Int32
        var offset: Int64
        var field: String? = nil
        var topic: String? = nil
    }
    var records: [Record] = []
    var partition: Int32 = -1
    var offset: Int64 = -1

    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        records.append(Record(kind: kind.rawValue, key: key.map { Array($0) }, value: Array(value), partition: partition, offset: offset))
    }
    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        records.append(Record(kind: -1, key: nil, value: Array(original) + Array(reason.utf8), partition: source.partition, offset: source.offset,
                              field: field, topic: source.topic))
    }
    mutating func position(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
    func count(_ kind: OutputKind) -> Int { records.filter { $0.kind == kind.rawValue }.count }
    /// The records of `kind`, parsed as JSON objects.
    func objects(_ kind: OutputKind) throws -> [[String: Any]] {
        try records.filter { $0.kind == kind.rawValue }.map { try JSONSerialization.jsonObject(with: Data($0.value)) as! [String: Any] }
    }
    /// The message keys of the records of `kind`, as text.
    func keys(_ kind: OutputKind) -> [String?] {
        records.filter { $0.kind == kind.rawValue }.map { $0.key.map { String(decoding: $0, as: UTF8.self) } }
    }
    var deadLetters: [Record] { records.filter { $0.kind == -1 } }
}

/// Snapshot → restore into a fresh pipeline → continue equals an uninterrupted run, bit for bit:
/// every output record (scores, windows, drift, alerts, retrain requests, model decisions) and
/// the final state bytes. Cuts at several batch boundaries, including before the drift
/// reference is complete, inside a drift window, and after retraining began.
@Suite struct PipelineCheckpointTests {
    static func batches(_ lines: [String], size: Int) -> [InputBatch] {
        var out: [InputBatch] = []
        var b = InputBatch(capacity: size)
        for (i, l) in lines.enumerated() {
            b.append(Array(l.utf8), partition: 0, offset: Int64(i))
            if b.count == size { out.append(b); b = InputBatch(capacity: size) }
        }
        if b.count > 0 { out.append(b) }
        return out
    }

    /// Runs `batches` uninterrupted, then from each cut: restore the state taken at the cut into a
    /// fresh pipeline and run the rest; the outputs after the cut and the final state must equal.
    /// With `background`, contract drift windows are judged on another thread and the pipeline is
    /// settled before each state is taken (as the Kafka runner does before a checkpoint).
    static func checkCuts(_ compiled: CompiledTopology, _ batches: [InputBatch], cuts: [Int], topic: String,
                          background: Bool = false) throws -> RecordingSink {
        var full = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        full.backgroundDriftEvaluation = background
        var sink = RecordingSink()
        var states: [Int: (state: [UInt8], outputs: Int)] = [:]
        for (i, b) in batches.enumerated() {
            if cuts.contains(i) {
                try full.settle(into: &sink)
                states[i] = (full.checkpointState(), sink.records.count)
            }
            try full.process(b, topic: topic, now: 0, into: &sink)
        }
        try full.settle(into: &sink)
        let finalState = full.checkpointState()
        for cut in cuts {
            let (state, outputs) = try #require(states[cut])
            var restored = try Pipeline(compiled: compiled, partitions: 1, now: 0)
            restored.backgroundDriftEvaluation = background
            try restored.restoreState(state)
            // Restoring is exact: the restored pipeline's state serialises to the same bytes.
            #expect(restored.checkpointState() == state, "cut \(cut): state differs after restore")
            var tail = RecordingSink()
            for b in batches[cut...] { try restored.process(b, topic: topic, now: 0, into: &tail) }
            try restored.settle(into: &tail)
            let expected = Array(sink.records[outputs...])
            #expect(tail.records.count == expected.count, "cut \(cut): \(tail.records.count) outputs after restore, \(expected.count) uninterrupted")
            // Judged in the background, a window's records are written at the first batch that
            // finds the job done: thread timing places them among the other kinds' records (a
            // loaded machine moves them a batch later), never changes them or their order.
            // So the background variant compares each kind's records in order.
            let groups: [(String, [RecordingSink.Record], [RecordingSink.Record])] = background
                ? Set(expected.map(\.kind) + tail.records.map(\.kind)).sorted().map { k in
                    ("kind \(k) ", tail.records.filter { $0.kind == k }, expected.filter { $0.kind == k }) }
                : [("", tail.records, expected)]
            for (label, got, want) in groups {
                if let i = zip(got, want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    Issue.record("cut \(cut): \(label)output \(i) differs: \(String(decoding: got[i].value, as: UTF8.self)) vs \(String(decoding: want[i].value, as: UTF8.self))")
                }
                #expect(got.count == want.count, "cut \(cut): \(label)\(got.count) outputs vs \(want.count)")
            }
            #expect(restored.checkpointState() == finalState, "cut \(cut): final state differs")
            #expect(restored.counters == full.counters)
        }
        return sink
    }

    @Test func cardFraudRestoresBitForBit() throws {
        // Scaled like the end-to-end test: reference 5,000 events, drift windows of 2,500.
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 5000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 2500}")
        #expect(scaled != text)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "card-fraud.yaml"))
        let gen = CardFraudGenerator(seed: 11, users: 400, driftAt: 9_000)
        var lines = (0..<16_000).map { gen.event($0) }
        lines[1234] = #"{"event_id":"x","ts":1700000001000,"user":"u1","amount":"#
        lines[12_001] = #"{"event_id":"x","ts":1700000001000,"user":"u1","amount":-1,"merchant":"fuel","device_age_days":3}"#
        let batches = Self.batches(lines, size: 700)
        // Cuts: inside the reference, inside a drift window after the drift, during retraining.
        let sink = try Self.checkCuts(compiled, batches, cuts: [3, 14, 18, 21], topic: "transactions")
        // The run exercised what the state must carry: windows, drift, alerts, retraining.
        #expect(sink.count(.scores) == 15_998)
        #expect(sink.count(.models) > 1)
        #expect(sink.count(.drift) > 0)
        #expect(sink.count(.alerts) > 0)
        #expect(sink.count(.retrain) > 0)
        #expect(sink.records.contains { $0.kind == -1 })
    }

    @Test func fraudContractRestoresBitForBit() throws {
        let lines = try String(contentsOfFile: try ContractParityTests.contractEvents(in: tempDir()), encoding: .utf8).split(separator: "\n").prefix(50_000).map(String.init)
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: 20000}")
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "fraud-contract.yaml"))
        let batches = Self.batches(lines, size: 1024)
        // Cuts: inside the reference, right after it, inside the second window.
        let sink = try Self.checkCuts(compiled, batches, cuts: [5, 20, 36], topic: "events")
        #expect(sink.count(.drift) == 9)
        #expect(sink.count(.windows) > 0)
        // Windows judged in the background: the same drift and alert records, naming the same event (written at a later
        // batch instead of at the closing event), and cuts restore exactly as well (windows close
        // in batches 29 and 39: cuts 30 and 40 may settle a window still being judged).
        let bg = try Self.checkCuts(compiled, batches, cuts: [5, 20, 30, 40], topic: "events", background: true)
        for kind in [OutputKind.drift, .alerts, .windows] {
            // Whole records: values and the source position (the event that closed the window).
            #expect(bg.records.filter { $0.kind == kind.rawValue } == sink.records.filter { $0.kind == kind.rawValue },
                    "\(kind) records differ")
        }
    }

    /// Contract drift records (and alerts) are positioned at the event that closed their window:
    /// the last event of it (reference 20,000 events, windows of 10,000), whether
    /// the window is judged at once or in the background and written batches later.
    @Test func contractDriftRecordsNameTheEventThatClosedTheirWindow() throws {
        let lines = try String(contentsOfFile: try ContractParityTests.contractEvents(in: tempDir()), encoding: .utf8).split(separator: "\n").prefix(50_000).map(String.init)
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: 20000}")
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "fraud-contract.yaml"))
        for background in [false, true] {
            var pipeline = try Pipeline(compiled: compiled, partitions: 1, now: 0)
            pipeline.backgroundDriftEvaluation = background
            var sink = RecordingSink()
            for b in Self.batches(lines, size: 1024) { try pipeline.process(b, topic: "events", now: 0, into: &sink) }
            try pipeline.settle(into: &sink)
            // Every event is valid, so the n-th event fed to the monitor is at offset n - 1.
            #expect(sink.records.filter { $0.kind == -1 }.isEmpty)
            let drift = try sink.objects(.drift)
            let positions = sink.records.filter { $0.kind == OutputKind.drift.rawValue }.map(\.offset)
            #expect(drift.count == 9, "background \(background)")
            for (record, offset) in zip(drift, positions) {
                let window = try #require(record["window"] as? Int)
                #expect(offset == Int64(20_000 + (window + 1) * 10_000 - 1), "background \(background): window \(window)")
            }
        }
    }

    /// A model without `retraining` never trains a challenger, so its checkpoint holds no
    /// training buffer (the default 5,000 labelled events were ~1 MB of every fraud-contract
    /// checkpoint, increments included); with `retraining` the buffer holds `buffer_events`.
    @Test func aModelWithoutRetrainingCheckpointsNoTrainingBuffer() throws {
        let gen = CardFraudGenerator(seed: 3, users: 500)
        let batches = Self.batches((0..<12_000).map { gen.event($0) }, size: 1000)
        let card = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let without = card.replacingOccurrences(of: "  retraining: {buffer_events: 3000, shadow_events: 1000, margin: 0.01}\n", with: "")
        #expect(without != card)
        var sizes: [Int] = []
        for text in [card, without] {
            var p = try Pipeline(compiled: try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "card-fraud.yaml")), partitions: 1, now: 0)
            var sink = RecordingSink()
            for b in batches { try p.process(b, topic: "transactions", now: 0, into: &sink) }
            #expect(p.model!.labelsLearned > 3_000)
            sizes.append(p.model!.serialized().count)
        }
        // 13 inputs: a buffered event is ~120 bytes
        #expect(sizes[0] > 3_000 * 100, "with retraining: \(sizes[0]) bytes")
        #expect(sizes[1] < 50_000, "without: \(sizes[1]) bytes")  // (the other parts: ~26 kB; the default buffer was 5,000 events)
    }

    @Test func restoreRejectsOtherTopologiesAndDamage() throws {
        let a = try TopologyCompiler.compile(try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path))
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path, encoding: .utf8)
        let b = try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "fraud-contract.yaml"))
        var pa = try Pipeline(compiled: a)
        var pb = try Pipeline(compiled: b)
        let state = pa.checkpointState()
        #expect(throws: CheckpointRestoreError.otherTopology(found: "card-fraud", expected: "fraud-contract")) { try pb.restoreState(state) }
        #expect(throws: CheckpointRestoreError.self) { try pa.restoreState(Array(state.dropLast(3))) }
        #expect(throws: CheckpointRestoreError.self) { try pa.restoreState(state + [0]) }
        try pa.restoreState(state)
        #expect(pa.checkpointState() == state)
    }
}
