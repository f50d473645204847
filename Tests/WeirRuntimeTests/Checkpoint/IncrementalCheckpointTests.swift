import Foundation
import Testing
import WeirCore
import WeirStats
import WeirTopology
@testable import WeirRuntime

/// Incremental checkpoints: a pipeline checkpointed as full images every N and increments in
/// between restores from image + increments bit for bit (``Pipeline/checkpointState()`` bytes
/// equal the uninterrupted pipeline's at every checkpoint) and continues with identical outputs;
/// stores keep and chain increments and refuse one whose base is missing.
@Suite struct IncrementalCheckpointTests {
    static func cardFraud() throws -> (CompiledTopology, [InputBatch]) {
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 5000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 2500}")
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "card-fraud.yaml"))
        let gen = CardFraudGenerator(seed: 17, users: 900, driftAt: 9_000)
        var lines = (0..<16_000).map { gen.event($0) }
        lines[4321] = #"{"event_id":"x","ts":1700000001000,"user":"u1","amount":"#
        return (compiled, PipelineCheckpointTests.batches(lines, size: 500))
    }

    @Test(arguments: [4, 10])
    func pipelineChainRestoresBitForBitAndContinues(fullEvery: Int) throws {
        let (compiled, batches) = try Self.cardFraud()
        let taken = try Self.chainRoundTrip(compiled, batches, fullEvery: fullEvery, topic: "transactions")
        // after the 5,000-event reference (batch 10) each increment leaves out the references
        // that did not change: it is smaller than one that writes them all
        let late = taken.filter { !$0.isFull && $0.batch >= 12 }
        #expect(!late.isEmpty)
        for t in late {
            #expect(t.bytes.count + 10_000 < t.withReferences, "increment after batch \(t.batch): \(t.bytes.count) bytes, \(t.withReferences) with every reference")
        }
    }

    /// An increment writes the model (and each drift monitor) as the blocks of its bytes that
    /// changed since the base (WPCI v2, WDPL v2): with card-fraud's 3,000-event training buffer,
    /// 500 events change a small part of it; the chain restores bit for bit (above), and an
    /// increment in the v1 form (the model whole) still applies onto the same base.
    @Test func theModelIsWrittenAsItsChangedBlocksAndVersion1StillApplies() throws {
        let (compiled, batches) = try Self.cardFraud()
        var p = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        var sink = RecordingSink()
        for b in batches.prefix(21) { try p.process(b, topic: "transactions", now: 0, into: &sink) }  // inside a drift window
        let base = p.checkpointState()
        p.markCheckpointed()
        let mark = p.referenceMark
        let modelAtBase = p.model!.serialized()
        try p.process(batches[21], topic: "transactions", now: 0, into: &sink)
        let v2 = p.checkpointIncrement(unchangedSince: mark)
        let modelNow = p.model!.serialized()
        #expect(modelNow.count > 300_000, "the buffer is full: \(modelNow.count) bytes")

        var r = ByteReader(v2)
        #expect(try r.readHeader(tag: "WPCI", supportedVersions: 1...2) == 2)
        let name = try r.readString(field: "name"), graph = try r.readBytes(field: "graph")
        #expect(try r.readBool() && r.readUInt8() == 1)
        let before = r.remaining
        #expect(try BlockDelta.read(&r, base: modelAtBase, field: "model") == modelNow)
        let modelPart = before - r.remaining
        #expect(modelPart * 5 < modelNow.count, "the model's changes: \(modelPart) of \(modelNow.count) bytes")
        let rest = Array(v2.suffix(r.remaining))
        // the drift stage (its monitors as their changes too) and the counters: less than the
        // monitors whole. (Little less here: the score monitor's window keeps its model inputs
        // after its scores, so each new score shifts the inputs' bytes; the feature monitors'
        // windows shrink to their new samples.)
        let driftWhole = p.drift!.pipeline.snapshot(unchangedReferences: mark.monitors).count
        #expect(rest.count + 5_000 < driftWhole, "drift and counters: \(rest.count) bytes, the monitors whole \(driftWhole)")

        // the same increment as v1 wrote it: the model whole
        var w = ByteWriter()
        w.writeHeader(tag: "WPCI", version: 1)
        w.write(name); w.writeBytes(graph); w.write(true); w.writeBytes(modelNow)
        w.bytes += rest
        for inc in [v2, w.bytes] {
            var q = try Pipeline(compiled: compiled, partitions: 1, now: 0)
            try q.restoreState(base)
            try q.applyIncrement(inc)
            #expect(q.checkpointState() == p.checkpointState())
        }
    }

    /// A reference that changes between checkpoints (`previous_window`: every window close) is
    /// written again in the increment after the change: the chain still restores bit for bit.
    @Test func aRollingReferenceIsWrittenAgainWhenItChanges() throws {
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/clickstream.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "window: {count: 20000}", with: "window: {count: 1200}")
        #expect(scaled != text)
        let spec = try TopologyLoader.parse(scaled, file: "clickstream.yaml")
        let gen = SchemaEventGenerator(spec: spec, seed: 5, driftAt: 9_000, stepMs: 50)
        let batches = PipelineCheckpointTests.batches((0..<14_000).map { gen.event($0) }, size: 500)
        let taken = try Self.chainRoundTrip(try TopologyCompiler.compile(spec), batches, fullEvery: 6, topic: "page-views")
        // a window closes every 1,200 events, so most 500-event increments carry new references
        // and some (no window closed since the base) leave them out
        let increments = taken.filter { !$0.isFull && $0.batch >= 3 }
        #expect(increments.contains { $0.bytes.count + 1_000 < $0.withReferences })
        #expect(increments.contains { $0.bytes.count == $0.withReferences })
    }

    /// Checkpoints `compiled` after every batch as the coordinator does (a full image every
    /// `fullEvery`, increments on the previous checkpoint between, leaving out the drift references
    /// unchanged since it), then restores every checkpoint from its full image and increments:
    /// each equals the uninterrupted pipeline's ``Pipeline/checkpointState()`` bytes there, and
    /// some restored pipelines continue with exactly the uninterrupted run's outputs.
    static func chainRoundTrip(_ compiled: CompiledTopology, _ batches: [InputBatch], fullEvery: Int,
                               topic: String) throws -> [(isFull: Bool, bytes: [UInt8], withReferences: Int, batch: Int)] {
        var full = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        var sink = RecordingSink()
        var graphRatios: [Double] = []
        var taken: [(isFull: Bool, bytes: [UInt8], expected: [UInt8], withReferences: Int, batch: Int, outputs: Int)] = []
        var mark: Pipeline.ReferenceMark?
        for (i, b) in batches.enumerated() {
            try full.process(b, topic: topic, now: 0, into: &sink)
            try full.settle(into: &sink)
            let isFull = taken.count % fullEvery == 0
            let bytes = isFull ? full.checkpointState() : full.checkpointIncrement(unchangedSince: mark)
            let withReferences = isFull ? bytes.count : full.checkpointIncrement().count
            taken.append((isFull, bytes, full.checkpointState(), withReferences, i, sink.records.count))
            if i >= 8 && !isFull {
                // the keyed state's increment: the keys a batch touches (and the windows that fired
                // or expired), not all of them
                let inc = full.graph.snapshotIncrement().count, whole = full.graph.snapshot().count
                #expect(inc < whole, "batch \(i): graph increment \(inc) bytes, graph \(whole)")
                graphRatios.append(Double(inc) / Double(whole))
            }
            full.markCheckpointed()
            mark = full.referenceMark
        }
        let finalState = full.checkpointState()
        let meanRatio = graphRatios.reduce(0, +) / Double(graphRatios.count)
        #expect(meanRatio < 0.4, "graph increments average \(meanRatio) of the graph's full snapshot")
        #expect(taken.filter { !$0.isFull }.count > taken.count / 2)
        // increments are smaller than the full image at the same point
        for t in taken where !t.isFull {
            #expect(t.bytes.count < t.expected.count, "increment after batch \(t.batch): \(t.bytes.count) bytes, full image \(t.expected.count)")
        }
        for k in taken.indices {
            var restored = try Pipeline(compiled: compiled, partitions: 1, now: 0)
            let start = (0...k).last { taken[$0].isFull }!
            try restored.restoreState(taken[start].bytes)
            for j in (start + 1)..<(k + 1) { try restored.applyIncrement(taken[j].bytes) }
            #expect(restored.checkpointState() == taken[k].expected, "checkpoint \(k) differs after restore from \(start)")
            // continue from a few cuts: the same outputs and final state as the uninterrupted run
            guard k % 7 == 5 else { continue }
            var tail = RecordingSink()
            for b in batches[(taken[k].batch + 1)...] { try restored.process(b, topic: topic, now: 0, into: &tail) }
            try restored.settle(into: &tail)
            #expect(tail.records == Array(sink.records[taken[k].outputs...]), "outputs after checkpoint \(k) differ")
            #expect(restored.checkpointState() == finalState)
        }
        #expect(sink.count(.drift) > 0)
        return taken.map { ($0.isFull, $0.bytes, $0.withReferences, $0.batch) }
    }

    /// An increment that leaves out a reference (and writes the model as changes) cannot be
    /// restored on its own (as a full image) nor onto a pipeline that has not restored its base:
    /// the error names what does not fit (the model, read first).
    @Test func anIncrementWithoutItsReferencesNeedsItsBase() throws {
        let (compiled, batches) = try Self.cardFraud()
        var p = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        var sink = RecordingSink()
        for b in batches.prefix(12) { try p.process(b, topic: "transactions", now: 0, into: &sink) }
        try p.settle(into: &sink)
        p.markCheckpointed()
        let mark = p.referenceMark
        try p.process(batches[12], topic: "transactions", now: 0, into: &sink)
        try p.settle(into: &sink)
        let increment = p.checkpointIncrement(unchangedSince: mark)
        var fresh = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        fresh.markCheckpointed()
        do {
            try fresh.applyIncrement(increment)
            Issue.record("an increment without its references applied onto an empty pipeline")
        } catch {
            #expect("\(error)".contains("Pipeline.model") && "\(error)".contains("not the base"), "\(error)")
        }
    }
    @Test func incrementBeforeAnyMarkIsAFullImageDecision() throws {
        let (compiled, batches) = try Self.cardFraud()
        var p = try Pipeline(compiled: compiled)
        var sink = RecordingSink()
        try p.process(batches[0], topic: "transactions", now: 0, into: &sink)
        #expect(!p.tracksChanges && p.changeMark == nil)
        p.markCheckpointed()
        let mark = p.changeMark
        #expect(p.tracksChanges && mark != nil)
        // a restore moves the mark: the coordinator then writes a full image
        let state = p.checkpointState()
        try p.restoreState(state)
        #expect(p.changeMark != mark)
    }

    /// The chain policy: increments while there is a base, fewer than `fullEvery − 1` follow the
    /// newest full image and they total fewer bytes than it; a restored chain continues with the
    /// same counts.
    @Test func aChainEndsAfterFullEveryOrWhenItsIncrementsOutgrowTheImage() {
        var p = ChainPolicy(fullEvery: 4)
        #expect(!p.nextIsIncrement(hasBase: true))  // nothing written yet
        p.wrote(bytes: 100, increment: false)
        var kinds: [Bool] = []
        for _ in 0..<8 {
            let inc = p.nextIsIncrement(hasBase: true)
            kinds.append(inc)
            p.wrote(bytes: inc ? 10 : 100, increment: inc)
        }
        #expect(kinds == [true, true, true, false, true, true, true, false])  // by count: every 4th is full
        // by size: increments of 40 + 40 + 40 exceed the 100-byte image after the third
        p = ChainPolicy(fullEvery: 10)
        p.wrote(bytes: 100, increment: false)
        kinds = []
        for _ in 0..<5 {
            let inc = p.nextIsIncrement(hasBase: true)
            kinds.append(inc)
            p.wrote(bytes: inc ? 40 : 100, increment: inc)
        }
        #expect(kinds == [true, true, true, false, true])
        #expect(!p.nextIsIncrement(hasBase: false))  // restored by something else: full
        // a restored chain: its image and increments count
        var r = ChainPolicy(fullEvery: 10)
        r.restored(fullBytes: 100, incrementBytes: [60, 30])
        #expect(r.nextIsIncrement(hasBase: true) && r.incrementsSinceFull == 2)
        #expect(r.expectedBytes(increment: true) == 33 && r.expectedBytes(increment: false) == 112)  // the last of each kind + 1/8
        r.wrote(bytes: 20, increment: true)
        #expect(!r.nextIsIncrement(hasBase: true) && r.incrementBytes == 110)
        #expect(r.expectedBytes(increment: true) == 22)
        #expect(ChainPolicy(fullEvery: 3).expectedBytes(increment: false) == 0)  // nothing known yet
    }

    /// `processing.checkpoint_full_every`: default 10, read when given, at least 1.
    @Test func fullEveryIsReadFromTheTopology() throws {
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/iot-sensors.yaml").path, encoding: .utf8)
        #expect(try TopologyLoader.parse(text, file: "iot.yaml").processing.checkpointFullEvery == 10)
        let three = text.replacingOccurrences(of: "  checkpoint_interval: 5s\n", with: "  checkpoint_interval: 5s\n  checkpoint_full_every: 3\n")
        #expect(three != text)
        #expect(try TopologyLoader.parse(three, file: "iot.yaml").processing.checkpointFullEvery == 3)
        let zero = text.replacingOccurrences(of: "  checkpoint_interval: 5s\n", with: "  checkpoint_interval: 5s\n  checkpoint_full_every: 0\n")
        #expect(throws: (any Error).self) { try TopologyLoader.parse(zero, file: "iot.yaml") }
    }

    static func checkpoint(epoch: UInt64, base: UInt64?, size: Int = 700) -> Checkpoint {
        var c = CheckpointStoreTests.checkpoint(epoch: epoch, size: size)
        c.base = base
        return c
    }

    @Test func directoryStoreChainsIncrementsAndRefusesAMissingBase() throws {
        let dir = tempDir()
        let store = try DirectoryCheckpointStore(directory: dir, topology: "t")
        #expect(try store.loadChain().isEmpty)
        let c1 = Self.checkpoint(epoch: 1, base: nil), c2 = Self.checkpoint(epoch: 2, base: 1), c3 = Self.checkpoint(epoch: 3, base: 2)
        for c in [c1, c2, c3] { try store.save(c); try store.saved(c) }
        let reader = try DirectoryCheckpointStore(directory: dir, topology: "t")
        #expect(try reader.loadChain() == [c1, c2, c3])
        #expect(try reader.load() == c3)
        // the increment of epoch 2 is lost: epoch 3 cannot be restored, and the error names both
        try FileManager.default.removeItem(atPath: dir + "/t.checkpoint.inc-2")
        #expect(throws: CheckpointError.baseMissing(epoch: 3, base: 2, location: dir + "/t.checkpoint")) { try reader.loadChain() }
        // a new full image starts a new chain and removes the increments before it
        let c4 = Self.checkpoint(epoch: 4, base: nil), c5 = Self.checkpoint(epoch: 5, base: 4)
        for c in [c4, c5] { try store.save(c); try store.saved(c) }
        #expect(try reader.loadChain() == [c4, c5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["t.checkpoint", "t.checkpoint.inc-5"])
    }

    @Test func changelogRecordsChainIncrementsAndRefuseAMissingBase() throws {
        let c1 = Self.checkpoint(epoch: 1, base: nil, size: 2500), c2 = Self.checkpoint(epoch: 2, base: 1), c3 = Self.checkpoint(epoch: 3, base: 2)
        let r1 = CheckpointRecords.encode(c1, maxChunkBytes: 1000), r2 = CheckpointRecords.encode(c2, maxChunkBytes: 1000),
            r3 = CheckpointRecords.encode(c3, maxChunkBytes: 1000)
        // increments have keys of their own (compaction keeps every one a chain needs)
        #expect(r2.map(\.key) == ["inc/2/0", "commit/inc/2"] && r1.last!.key == "commit")
        var a = CheckpointAssembler(topology: "t")
        for r in r1 + r2 + r3 { try a.add(r.value) }
        #expect(try a.chain(location: "x") == [c1, c2, c3])
        #expect(a.latest == c3)
        // epoch 2's chunk is missing: its commit is incomplete, and epoch 3 is refused
        var b = CheckpointAssembler(topology: "t")
        for r in r1 + r2.dropFirst() + r3 { try b.add(r.value) }
        #expect(throws: CheckpointError.baseMissing(epoch: 3, base: 2, location: "x")) { try b.chain(location: "x") }
        // a later full image is restorable again; old full-image-only logs still are
        let c4 = Self.checkpoint(epoch: 4, base: nil)
        for r in CheckpointRecords.encode(c4) { try b.add(r.value) }
        #expect(try b.chain(location: "x") == [c4])
        // many checkpoints: the chain of the newest survives trimming of older full images
        var m = CheckpointAssembler(topology: "t")
        var expected: [Checkpoint] = []
        for e in UInt64(1)...40 {
            let c = Self.checkpoint(epoch: e, base: e % 10 == 1 ? nil : e - 1, size: 50)
            if c.base == nil { expected = [] }
            expected.append(c)
            for r in CheckpointRecords.encode(c) { try m.add(r.value) }
        }
        #expect(try m.chain(location: "x") == expected)
    }

    /// A hand-over with a late write: owner "z" wrote epochs 1-2 and, paused, epoch 3 (on 2) that
    /// reached the changelog only after "r" had restored epoch 2, claimed epoch 3 (on 2) and
    /// written epoch 4 (on its 3). r's chain takes r's own epoch 3, never z's of the same epoch,
    /// whichever order they are in; z's late checkpoint, when newest, restores z's own chain.
    @Test func anIncrementChainsOnItsOwnOwnersBaseOverALateWriteOfTheSameEpoch() throws {
        func owned(_ owner: String, _ epoch: UInt64, base: UInt64?) -> Checkpoint {
            var c = Self.checkpoint(epoch: epoch, base: base, size: 64)
            c.owner = owner
            c.state = [UInt8](repeating: UInt8(epoch) &+ (owner == "z" ? 100 : 0), count: 64)
            return c
        }
        let z1 = owned("z", 1, base: nil), z2 = owned("z", 2, base: 1), z3 = owned("z", 3, base: 2)
        let r3 = owned("r", 3, base: 2), r4 = owned("r", 4, base: 3)
        func chain(_ order: [Checkpoint]) throws -> [Checkpoint] {
            var a = CheckpointAssembler(topology: "t")
            for c in order { for r in CheckpointRecords.encode(c) { try a.add(r.value) } }
            return try a.chain(location: "x")
        }
        #expect(try chain([z1, z2, r3, z3, r4]) == [z1, z2, r3, r4])
        #expect(try chain([z1, z2, z3, r3, r4]) == [z1, z2, r3, r4])
        #expect(try chain([z1, z2, r3, r4, z3]) == [z1, z2, z3])
    }

    /// Commit records of the code before increments (version 2: no kind or base) decode as full images.
    @Test func versionTwoCommitRecordsAreFullImages() throws {
        let c = Self.checkpoint(epoch: 6, base: nil)
        var v2 = StateHashTests.commitRecord(CheckpointRecords.encode(c).last!.value, asVersion: 2, hashing: c.state)
        v2.removeLast(9)  // kind and base
        let decoded = try CheckpointRecords.decodeCommit(v2)
        #expect(decoded.checkpoint.base == nil && decoded.checkpoint.epoch == 6)
        var a = CheckpointAssembler(topology: "t")
        try a.add(CheckpointRecords.encode(c)[0].value)
        try a.add(v2)
        #expect(try a.chain(location: "x") == [c])
    }
}
