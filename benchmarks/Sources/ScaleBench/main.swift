// ScaleBench, stage costs (issue 16), in process and without Kafka: what one task (a source
// partition's decode, keyed windows, features, scoring with broadcast weights and its batch for
// the global stage) and the global stage (the runner's `GlobalInputMerge` over the encoded
// batches, test-then-train, drift, gate) cost per event, against one whole pipeline doing both,
// on the same events. These are the per-stage figures the capacity of N instances is estimated
// from (docs/scaling.md); the end-to-end runs through Kafka are `benchmarks/scalebench.sh`.
//
// Usage: ScaleBench [EVENTS [PARTITIONS [USERS]]] [--keys] [--tasks-only] [--contract=FILE]
//   (default 1,000,000 events, 12 partitions, 10,000 users). `--keys`: the tasks' batches carry
//   each message's key (the user, as `weir run --partitioned` passes it), so every task checks
//   it against `source.key` (docs/scaling.md); without it the tasks run unchecked, as before.
//   `--tasks-only`: only the tasks stage (for A/B runs of the key check).
//   `--background-judging`: the global stage judges closed `drift.mode: contract` windows on
//   another thread, as `weir run`'s does (the global figure is then its loop thread's).
//   `--contract=FILE`: the benchmark contract instead (benchmarks/fraud-contract.yaml with its
//   six `by: global` windows, the first EVENTS lines of FILE from ../shared/bench/gen_events.py).
//   `--task-batch=N`: events per task batch (see below).
//   `--kafka=BOOTSTRAP`: also the global stage from its internal topic: the tasks' batches are
//   produced to `scale.global` (PARTITIONS partitions, created by the broker: benchmarks/
//   scalebench-global.sh starts the uncapped one), then read back by a consumer configured as
//   the global stage's (assigned partitions, fetch.wait.max.ms 10, 2,048 messages per poll) and
//   merged and processed as `weir run --partitioned`'s global stage does; wall time from the
//   first poll to the last event processed, with the thread's and the process's CPU.
// Topology: topologies/card-fraud.yaml without its `by: global` window (as in the first runs,
// for comparison). Thread CPU time; best of 3 rounds per stage.
import BenchSupport
import Foundation
import WeirCore
import WeirKafka
import WeirRuntime
import WeirTopology

let flags = Set(CommandLine.arguments.dropFirst().filter { $0.hasPrefix("--") })
let args = CommandLine.arguments.filter { !$0.hasPrefix("--") }
let withKeys = flags.contains("--keys")
let tasksOnly = flags.contains("--tasks-only")
let backgroundJudging = flags.contains("--background-judging")
let kafkaBootstrap = flags.first { $0.hasPrefix("--kafka=") }.map { String($0.dropFirst("--kafka=".count)) }
let contractFile = flags.first { $0.hasPrefix("--contract=") }.map { String($0.dropFirst("--contract=".count)) }
let events = args.count > 1 ? Int(args[1]) ?? 1_000_000 : 1_000_000
let partitions = args.count > 2 ? Int(args[2]) ?? 12 : 12
let users = args.count > 3 ? Int(args[3]) ?? 10_000 : 10_000
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

struct NullSink: OutputSink {
    var records = 0
    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws { records += 1 }
    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws { records += 1 }
}

var text = try String(contentsOf: root.appendingPathComponent(contractFile == nil ? "topologies/card-fraud.yaml" : "benchmarks/fraud-contract.yaml"), encoding: .utf8)
if contractFile == nil { text = text.components(separatedBy: "\n").filter { !$0.contains("global_mean_5m") }.joined(separator: "\n") }
let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(text, file: contractFile == nil ? "card-fraud.yaml" : "fraud-contract.yaml"))

let lines: [[UInt8]]
if let contractFile {
    lines = try String(contentsOfFile: contractFile, encoding: .utf8).split(separator: "\n").prefix(events).map { Array($0.utf8) }
    guard lines.count == events else { fatalError("\(contractFile) has \(lines.count) events, not \(events)") }
} else {
    let gen = CardFraudGenerator(seed: 7, users: users)
    lines = (0..<events).map { Array(gen.event($0).utf8) }
}
func partition(_ line: [UInt8]) -> Int32 {
    // FNV-1a of the line's "user" value: a producer keyed by the user.
    let s = String(decoding: line, as: UTF8.self)
    let user = s.range(of: #""user":"[^"]*""#, options: .regularExpression).map { String(s[$0]) } ?? ""
    return Int32(user.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 } % UInt32(partitions))
}
let parts = lines.map(partition)
// The message key of each event: its user (as `weir produce --key-field user` sends it).
let keys: [[UInt8]] = !withKeys ? [] : lines.map { line in
    let s = String(decoding: line, as: UTF8.self)
    return s.range(of: #""user":"[^"]*""#, options: .regularExpression).map { Array(s[$0].utf8.dropFirst(8).dropLast()) } ?? []
}
// `--task-batch=N`: events per task batch (one message to the global stage per task batch), 4,096
// by default; `weir run --partitioned` processes at most 1,024 per task batch, fewer when a poll
// spreads its 2,048 messages over many partitions.
let taskBatch = flags.first { $0.hasPrefix("--task-batch=") }.flatMap { Int($0.dropFirst("--task-batch=".count)) } ?? 4096
let chunk = taskBatch * partitions

print("ScaleBench (stage costs) — \(events) \(contractFile == nil ? "card-fraud events, \(users) users" : "contract events"), \(partitions) partitions, ~\(taskBatch) events per task batch, tasks \(withKeys ? "checking message keys" : "without message keys")\(tasksOnly ? ", tasks only" : ""); \(ProcessInfo.processInfo.activeProcessorCount) cores, load \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8).split(separator: " ").prefix(3).joined(separator: " ")) ?? "?")")

var best = (whole: Double.infinity, tasks: Double.infinity, global: Double.infinity)
var batchBytes = 0, batchCount = 0, globalRecords = 0, wholeRecords = 0
/// The tasks' batches of the last round (`--kafka` produces them to the internal topic).
var lastEncoded: [[(partition: Int32, bytes: [UInt8])]] = []
for round in 1...3 {
    // One whole pipeline over every partition.
    var t0 = threadCPUSeconds()
    if !tasksOnly {
        var whole = try Pipeline(compiled: compiled, partitions: partitions, role: .whole)
        var wholeSink = NullSink()
        t0 = threadCPUSeconds()
        var batch = InputBatch(capacity: chunk)
        for start in stride(from: 0, to: events, by: chunk) {
            batch.removeAll()
            for i in start..<min(events, start + chunk) { batch.append(lines[i], partition: parts[i], offset: Int64(i)) }
            try whole.process(batch, topic: "transactions", now: 0, into: &wholeSink)
        }
        try whole.settle(into: &wholeSink)
        best.whole = min(best.whole, threadCPUSeconds() - t0)
        wholeRecords = wholeSink.records
    }

    // The tasks, each on its partition's events, collecting their batches for the global stage.
    var tasks = try (0..<partitions).map { try Pipeline(compiled: compiled, partitions: 1, role: .task(partition: Int32($0))) }
    var taskSink = NullSink()
    var encoded: [[(partition: Int32, bytes: [UInt8])]] = []   // per chunk, per task that had events
    var per = (0..<partitions).map { _ in InputBatch(capacity: taskBatch) }
    t0 = threadCPUSeconds()
    for start in stride(from: 0, to: events, by: chunk) {
        for p in per.indices { per[p].removeAll() }
        if withKeys {
            for i in start..<min(events, start + chunk) { per[Int(parts[i])].append(lines[i], key: keys[i], partition: parts[i], offset: Int64(i)) }
        } else {
            for i in start..<min(events, start + chunk) { per[Int(parts[i])].append(lines[i], partition: parts[i], offset: Int64(i)) }
        }
        var out: [(partition: Int32, bytes: [UInt8])] = []
        for p in 0..<partitions {
            try tasks[p].process(per[p], topic: "transactions", now: 0, into: &taskSink)
            var bytes: [UInt8] = []
            if tasks[p].takeGlobalBatch(into: &bytes) { out.append((Int32(p), bytes)) }
        }
        encoded.append(out)
    }
    // The end of a bounded run: each task says it ended (the merge no longer waits for it).
    encoded.append((0..<partitions).compactMap { p in
        var bytes: [UInt8] = []
        return tasks[p].takeGlobalBatch(into: &bytes, flags: [.caughtUp, .ended]) ? (Int32(p), bytes) : nil
    })
    best.tasks = min(best.tasks, threadCPUSeconds() - t0)
    lastEncoded = encoded
    batchCount = encoded.reduce(0) { $0 + $1.count }
    batchBytes = encoded.reduce(0) { $0 + $1.reduce(0) { $0 + $1.bytes.count } }

    // The global stage alone, from the encoded batches as read from its internal topic: merged by
    // `GlobalInputMerge` (event time, the runner's merge) and processed run by run.
    if tasksOnly {
        print("round \(round): tasks \(fmt(Double(events) / best.tasks / 1e6)) M/s (best so far)")
        continue
    }
    var global = try Pipeline(compiled: compiled, partitions: partitions, role: .global)
    // `--background-judging`: `drift.mode: contract` judges closed windows on another thread
    // (as one instance's `weir run` does); the figure is then the merge loop's thread alone.
    global.backgroundDriftEvaluation = backgroundJudging
    var globalSink = NullSink()
    var merge = GlobalInputMerge(partitions: partitions)
    var messageOffsets = [Int64](repeating: 0, count: partitions)
    t0 = threadCPUSeconds()
    for out in encoded {
        for (p, bytes) in out {
            try bytes.withUnsafeBytes { try merge.add(partition: p, offset: messageOffsets[Int(p)], bytes: $0) }
            messageOffsets[Int(p)] += 1
        }
        try global.processGlobal(merging: &merge, now: 0, into: &globalSink)
    }
    precondition(merge.allEnded, "the merge still holds batches")
    try global.settle(into: &globalSink)
    best.global = min(best.global, threadCPUSeconds() - t0)
    globalRecords = globalSink.records
    print("round \(round): whole \(fmt(Double(events) / (best.whole) / 1e6)) M/s, tasks \(fmt(Double(events) / best.tasks / 1e6)) M/s, global \(fmt(Double(events) / best.global / 1e6)) M/s (best so far)")
}
print("")
print("| stage | CPU s per 1M events (best of 3) | events/s per core |")
print("|---|---|---|")
for (name, s) in [("whole pipeline (both stages, one process)", best.whole), ("tasks (all \(partitions), sum)", best.tasks), ("global stage, from encoded batches (GlobalInputMerge)", best.global)] where s.isFinite {
    print("| \(name) | \(fmt(s / Double(events) * 1e6, 3)) | \(formatRate(Double(events) / s)) |")
}
print("")
if tasksOnly { exit(0) }
print("global batches: \(batchCount), \(fmt(Double(batchBytes) / Double(events), 1)) bytes per event; records written: whole \(wholeRecords), global stage \(globalRecords)")
let perInstanceTasks = Double(events) / best.tasks
let globalRate = Double(events) / best.global
print("on paper: N instances of one core each run tasks at ~N × \(formatRate(perInstanceTasks)) until the global stage's \(formatRate(globalRate)) caps them: at \(fmt(globalRate / perInstanceTasks, 1)) instances (before Kafka's own costs)")

// The global stage from its internal topic (`--kafka=BOOTSTRAP`).
if let bootstrap = kafkaBootstrap {
    let topic = "scale.global"
    let client = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "scalebench")
    let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client, lingerMs: 5))
    let target = try producer.topic(topic)
    for out in lastEncoded { for (p, bytes) in out { try producer.send(to: target, partition: p, key: nil, value: bytes) } }
    try producer.flush(timeout: .seconds(300))
    producer.close()
    // The global stage's consumer configuration.
    var consumerClient = KafkaRunner.internalConsumerClient(client)
    // `--consumer=NAME=VALUE`: more librdkafka properties for this consumer (experiments).
    for f in flags where f.hasPrefix("--consumer=") {
        let kv = f.dropFirst("--consumer=".count).split(separator: "=", maxSplits: 1)
        if kv.count == 2 { consumerClient.properties[String(kv[0])] = String(kv[1]) }
    }
    var bestRun = (wall: Double.infinity, thread: Double.infinity, process: Double.infinity)
    for round in 1...3 {
        let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: consumerClient, groupID: "scalebench-global-\(getpid())-\(round)", offsetReset: .earliest))
        try consumer.assign((0..<Int32(partitions)).map { TopicPartitionOffset(topic: topic, partition: $0, offset: TopicPartitionOffset.beginning) })
        var global = try Pipeline(compiled: compiled, partitions: partitions, role: .global)
        global.backgroundDriftEvaluation = backgroundJudging
        var sink = NullSink()
        var merge = GlobalInputMerge(partitions: partitions)
        let clock = ContinuousClock()
        var began: ContinuousClock.Instant?
        var (t0, c0) = (0.0, 0.0)
        var failure: (any Error)?
        var firstSeen = [ContinuousClock.Instant?](repeating: nil, count: partitions)
        var lastMessage: ContinuousClock.Instant?
        var longestGap = (gap: Duration.zero, at: 0)
        var messages = 0
        while !merge.allEnded {
            try consumer.poll(timeout: .milliseconds(10)) { m in
                guard failure == nil, let v = m.value else { return }
                if began == nil { (began, t0, c0) = (clock.now, threadCPUSeconds(), processCPUSeconds()) }
                if firstSeen[Int(m.partition)] == nil { firstSeen[Int(m.partition)] = clock.now }
                let now = clock.now
                if let l = lastMessage, now - l > longestGap.gap { longestGap = (now - l, messages) }
                lastMessage = now
                messages += 1
                do { try merge.add(partition: m.partition, offset: m.offset, bytes: v) } catch { failure = error }
            }
            if let failure { throw failure }
            try global.processGlobal(merging: &merge, now: 0, into: &sink)
        }
        try global.settle(into: &sink)
        let wall = (clock.now - began!) / .seconds(1)
        let (thread, process) = (threadCPUSeconds() - t0, processCPUSeconds() - c0)
        consumer.close()
        precondition(sink.records == globalRecords, "the global stage from Kafka wrote \(sink.records) records, from memory \(globalRecords)")
        // A partition whose first record came late held the merge (and every other partition) back.
        let lastStart = (firstSeen.compactMap { $0 }.max()! - began!) / .seconds(1)
        print("kafka round \(round): \(formatRate(Double(events) / wall)) events/s wall, \(fmt(thread, 3)) s thread CPU, \(fmt(process, 3)) s process CPU; the last partition's first record \(fmt(lastStart * 1000, 0)) ms after the first's; longest time between two messages (processing between polls included) \(fmt(longestGap.gap / .milliseconds(1), 0)) ms, before message \(longestGap.at) of \(messages)")
        bestRun = (min(bestRun.wall, wall), min(bestRun.thread, thread), min(bestRun.process, process))
    }
    print("")
    print("| global stage from `\(topic)` (\(partitions) partitions, \(batchCount) messages, \(fmt(Double(batchBytes) / 1_048_576, 1)) MiB), best of 3 | seconds per 1M events | events/s |")
    print("|---|---|---|")
    print("| wall, first poll to last event processed | \(fmt(bestRun.wall / Double(events) * 1e6, 3)) | \(formatRate(Double(events) / bestRun.wall)) |")
    print("| CPU of its thread (poll, merge, processing) | \(fmt(bestRun.thread / Double(events) * 1e6, 3)) | \(formatRate(Double(events) / bestRun.thread)) per core |")
    print("| CPU of the process (with librdkafka's threads\(backgroundJudging ? " and the judging thread" : "")) | \(fmt(bestRun.process / Double(events) * 1e6, 3)) | |")
}
