// CheckpointBench (issue 8): the cost of checkpoints, without Kafka.
//
// Usage: CheckpointBench [EVENTS [KEYS [ROUNDS [EVENTS_PER_SECOND [TOUCH]]]]] (default 200,000
// events, 10,000 keys, 5 rounds, 100 events/s of event time, 1,000 events per increment;
// StateBench runs it with 200,000 and 1,000,000 keys).
// For the fraud-contract and card-fraud topologies with KEYS keys (users): the pipeline state
// after N events, the time to take a checkpoint (state bytes, zero-run packing, chunk records),
// its size raw and packed, and the time to restore it (assemble the records, unpack, restore a
// fresh pipeline). The share of one core a 1 s checkpoint interval costs is time / 1 s.
// Incremental checkpoints (issue 17): after the full image, ROUNDS increments each covering TOUCH
// more events (few keys touched): their time and size, then the restore of the chain (full image
// + every increment: assemble, unpack, restore, apply) into a fresh pipeline, checked bit for bit.
// The end-to-end figures (weir run with and without checkpoints) are FraudBench variants.
import BenchSupport
import Foundation
import WeirCore
import WeirRuntime
import WeirTopology

let args = CommandLine.arguments
let events = args.count > 1 ? Int(args[1]) ?? 200_000 : 200_000
let keys = args.count > 2 ? Int(args[2]) ?? 10_000 : 10_000
let rounds = args.count > 3 ? Int(args[3]) ?? 5 : 5
let eventsPerSecond = args.count > 4 ? Double(args[4]) ?? 100 : 100
let touch = args.count > 5 ? Int(args[5]) ?? 1000 : 1000
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func load(_ path: String, _ edit: (String) -> String = { $0 }) throws -> CompiledTopology {
    let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    return try TopologyCompiler.compile(try TopologyLoader.parse(edit(text), file: path))
}

struct NullSink: OutputSink {
    var records = 0
    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws { records += 1 }
    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws { records += 1 }
}

func bench(_ name: String, _ compiled: CompiledTopology) throws {
    var gen = CardFraudGenerator(seed: 7, users: keys)
    gen.eventsPerSecond = eventsPerSecond
    var pipeline = try Pipeline(compiled: compiled, partitions: 4, now: 0)
    var sink = NullSink()
    var batch = InputBatch(capacity: 4096)
    for i in 0..<events {
        batch.append(Array(gen.event(i).utf8), partition: Int32(i % 4), offset: Int64(i / 4))
        if batch.count == 4096 { try pipeline.process(batch, topic: "events", now: 0, into: &sink); batch.removeAll() }
    }
    if batch.count > 0 { try pipeline.process(batch, topic: "events", now: 0, into: &sink) }
    let offsets = (0..<4).map { Checkpoint.SourceOffset(partition: Int32($0), offset: Int64(events / 4)) }

    var best = (take: Double.infinity, encode: Double.infinity, restore: Double.infinity)
    var raw = 0, packed = 0, chunks = 0
    for _ in 0..<rounds {
        var state: [UInt8] = []
        let take = measureSeconds { state = pipeline.checkpointState() }
        let c = Checkpoint(topology: compiled.spec.name, epoch: 1, owner: "bench", sourceTopic: "events", offsets: offsets, state: state)
        var records: [CheckpointRecords.Record] = []
        let encode = measureSeconds { records = CheckpointRecords.encode(c) }
        raw = state.count
        packed = records.reduce(0) { $0 + $1.value.count }
        chunks = records.count - 1
        var restored = try Pipeline(compiled: compiled, partitions: 4, now: 0)
        let restore = try measureSeconds {
            var a = CheckpointAssembler(topology: compiled.spec.name)
            for r in records { try a.add(r.value) }
            guard let cp = a.latest else { throw CheckpointError.io("no checkpoint assembled") }
            try restored.restoreState(cp.state)
        }
        precondition(restored.checkpointState() == state, "restore is not exact")
        best = (min(best.take, take), min(best.encode, encode), min(best.restore, restore))
    }
    let total = best.take + best.encode
    print("\(name): \(events) events, \(keys) keys, \(pipeline.counters.deadLetters) dead letters")
    print("  state \(fmt(Double(raw) / 1e6)) MB raw, \(fmt(Double(packed) / 1e6)) MB in \(chunks) chunk record(s) of <= 512 KiB")
    print("  checkpoint: state \(fmt(best.take * 1e3)) ms + pack/chunk \(fmt(best.encode * 1e3)) ms = \(fmt(total * 1e3)) ms"
          + " (\(fmt(total * 100, 1))% of one core at a 1 s interval, before Kafka I/O)")
    print("  restore (assemble, unpack, check, restore): \(fmt(best.restore * 1e3)) ms")
    print("  live keys per keyed window: \(pipeline.graph.windows.filter(\.isKeyed).map { String($0.keyCount) }.joined(separator: ", "))")

    // Incremental: a full image, then `rounds` increments of `touch` events each.
    let fullState = pipeline.checkpointState()
    var records = CheckpointRecords.encode(Checkpoint(topology: compiled.spec.name, epoch: 1, owner: "bench", sourceTopic: "events",
                                                      offsets: offsets, state: fullState))
    pipeline.markCheckpointed()
    // As the runner does: a reference that did not change since the base is not written again.
    var mark = pipeline.referenceMark
    var incTake: [Double] = [], incEncode: [Double] = [], incBytes: [Int] = [], incPacked: [Int] = [], graphInc: [Int] = []
    var next = events
    for r in 0..<rounds {
        batch.removeAll()
        for i in next..<(next + touch) { batch.append(Array(gen.event(i).utf8), partition: Int32(i % 4), offset: Int64(i / 4)) }
        next += touch
        try pipeline.process(batch, topic: "events", now: 0, into: &sink)
        var inc: [UInt8] = []
        incTake.append(measureSeconds { inc = pipeline.checkpointIncrement(unchangedSince: mark) })
        let c = Checkpoint(topology: compiled.spec.name, epoch: UInt64(r + 2), owner: "bench", sourceTopic: "events", offsets: offsets,
                           state: inc, base: UInt64(r + 1))
        var recs: [CheckpointRecords.Record] = []
        incEncode.append(measureSeconds { recs = CheckpointRecords.encode(c) })
        graphInc.append(pipeline.graph.snapshotIncrement().count)
        pipeline.markCheckpointed()
        mark = pipeline.referenceMark
        incBytes.append(inc.count)
        incPacked.append(recs.reduce(0) { $0 + $1.value.count })
        records += recs
    }
    let finalState = pipeline.checkpointState()
    var restored = try Pipeline(compiled: compiled, partitions: 4, now: 0)
    var chainLength = 0
    let chainRestore = try measureSeconds {
        var a = CheckpointAssembler(topology: compiled.spec.name)
        for r in records { try a.add(r.value) }
        let chain = try a.chain(location: "bench")
        chainLength = chain.count
        try restored.restoreState(chain[0].state)
        for c in chain.dropFirst() { try restored.applyIncrement(c.state) }
    }
    precondition(chainLength == rounds + 1 && restored.checkpointState() == finalState, "chain restore is not exact")
    let med = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
    print("  increment of \(touch) events (median of \(rounds)): state \(fmt(med(incTake) * 1e3)) ms + pack/chunk \(fmt(med(incEncode) * 1e3)) ms,"
          + " \(fmt(Double(incBytes.sorted()[rounds / 2]) / 1e3)) kB raw, \(fmt(Double(incPacked.sorted()[rounds / 2]) / 1e3)) kB packed"
          + " (full image: \(fmt(Double(raw) / 1e6)) MB, \(fmt(total * 1e3)) ms); of which the keyed windows (graph):"
          + " \(fmt(Double(graphInc.sorted()[rounds / 2]) / 1e3)) kB of \(fmt(Double(pipeline.graph.snapshot().count) / 1e6)) MB")
    print("  restore of the chain (full image + \(rounds) increments; assemble, unpack, restore, apply): \(fmt(chainRestore * 1e3)) ms")
}

print("CheckpointBench — \(Date())")
try bench("fraud-contract", try load("benchmarks/fraud-contract.yaml") {
    $0.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: \(events / 5)}")
})
try bench("card-fraud", try load("topologies/card-fraud.yaml"))
