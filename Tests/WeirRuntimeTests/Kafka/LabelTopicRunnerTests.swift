import Foundation
import Testing
import WeirCore
import WeirKafka
import WeirStats
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `weir run` (``KafkaRunner``) on a topology with `model.label_topic`, on the embedded broker:
/// events and labels are produced on their own topics before the run starts (so librdkafka may
/// fetch either far ahead of the other), and the run's outputs and counters equal an offline
/// ``Pipeline`` fed the same records in production order.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LabelTopicRunnerTests {
    static let topology = labelTopicTopology(name: "labelled")

    /// 8 chunks of 500 events, 100 ms of event time apart; after each chunk, the labels of its
    /// events (in production order). Events of the first half with `i % 40 == 7` get no label
    /// (50: they expire, the stream goes on > 60 s past them); chunk 2 has two undecodable label
    /// records, chunk 3 three labels of unknown events; the label of event 3100 (chunk 6) is
    /// produced in chunk 5, before its event: unmatched (as offline), and the event expires.
    struct Stream {
        var chunks: [(events: [String], labels: [String])] = []
        var expected = PipelineCounters()
        /// Label-topic offsets of the undecodable records.
        var undecodable: [Int64] = []

        init(seed: UInt64) {
            var rng = SeededGenerator(seed: seed)
            var labelOffset: Int64 = 0
            for k in 0..<8 {
                var events: [String] = [], labels: [String] = []
                for i in (k * 500)..<((k + 1) * 500) {
                    let x = Double.random(in: -2...2, using: &rng)
                    events.append(#"{"event_id":"e\#(i)","ts":\#(1_700_000_000_000 + i * 100),"user":"u\#(i % 7)","x":\#(x)}"#)
                    if i < 2000 && i % 40 == 7 || i == 3100 { continue }
                    labels.append(#"{"event_id":"e\#(i)","is_fraud":\#(x + Double.random(in: -0.5...0.5, using: &rng) > 0 ? 1 : 0)}"#)
                    expected.labelsJoined += 1
                }
                if k == 2 {
                    labels.insert(#"{"event_id":"e5","is_fraud":"yes"}"#, at: 10)
                    labels.insert("not json", at: 20)
                    undecodable += [labelOffset + 10, labelOffset + 20]
                    expected.labelDeadLetters += 2
                }
                if k == 3 {
                    labels += [#"{"event_id":"nope1","is_fraud":1}"#, #"{"event_id":"nope2","is_fraud":0}"#, #"{"event_id":"e999999","is_fraud":1}"#]
                    expected.labelsUnmatched += 3
                }
                if k == 5 {
                    labels.append(#"{"event_id":"e3100","is_fraud":1}"#)
                    expected.labelsUnmatched += 1
                }
                labelOffset += Int64(labels.count)
                chunks.append((events, labels))
            }
            expected.scored = 4000
            expected.labelsExpired = 51
            expected.labelled = expected.labelsJoined
        }

        /// Chunk `k` ends at event offset `eventEnd(k)` and label offset `labelEnd(k)`.
        func eventEnd(_ k: Int) -> Int64 { Int64(chunks[0..<k].reduce(0) { $0 + $1.events.count }) }
        func labelEnd(_ k: Int) -> Int64 { Int64(chunks[0..<k].reduce(0) { $0 + $1.labels.count }) }

        static func batch(_ lines: [String], firstOffset: Int64) -> InputBatch {
            var b = InputBatch(capacity: lines.count)
            for (i, l) in lines.enumerated() { b.append(Array(l.utf8), partition: 0, offset: firstOffset + Int64(i)) }
            return b
        }

        /// The offline run of chunks `0..<upTo`, in production order, at wall-clock time `now` (ms).
        func reference(_ compiled: CompiledTopology, upTo: Int? = nil, now: Int64 = 0) throws -> (Pipeline, RecordingSink) {
            var p = try Pipeline(compiled: compiled, now: now)
            var sink = RecordingSink()
            for k in 0..<(upTo ?? chunks.count) {
                try p.process(Self.batch(chunks[k].events, firstOffset: eventEnd(k)), topic: "events", now: now, into: &sink)
                try p.processLabels(Self.batch(chunks[k].labels, firstOffset: labelEnd(k)), topic: "labels", into: &sink)
            }
            return (p, sink)
        }
    }

    static func compile() throws -> CompiledTopology {
        try TopologyCompiler.compile(try TopologyLoader.parse(topology, file: "labelled.yaml"))
    }

    /// A broker holding chunks `chunks` of the stream: each chunk's events, then its labels, with
    /// increasing message timestamps (as a producer writing them in that order would stamp them).
    static func broker(_ s: Stream, chunks: Range<Int> = 0..<8, into existing: EmbeddedBroker? = nil) throws -> EmbeddedBroker {
        let broker = try existing ?? EmbeddedBroker()
        if existing == nil {
            for t in ["events", "labels", "labelled.scores", "labelled.models", "labelled.dlq", "labelled.changelog"] {
                try broker.createTopic(t, partitions: 1)
            }
        }
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "label-test-producer")
        let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
        let events = try producer.topic("events"), labels = try producer.topic("labels")
        for k in chunks {
            // Stamped by position in the production order, ending a minute ago.
            var t = Int64(Date().timeIntervalSince1970 * 1000) - 120_000 + s.eventEnd(k) + s.labelEnd(k)
            for e in s.chunks[k].events { t += 1; try producer.send(to: events, partition: 0, key: nil, value: Array(e.utf8), timestamp: t) }
            for l in s.chunks[k].labels { t += 1; try producer.send(to: labels, partition: 0, key: nil, value: Array(l.utf8), timestamp: t) }
        }
        try producer.flush(timeout: .seconds(30))
        producer.close()
        return broker
    }

    static func run(_ broker: EmbeddedBroker, group: String, checkpoints: KafkaRunner.CheckpointLocation,
                    guarantee: ProcessingSpec.Guarantee = .atLeastOnce) throws -> Pipeline {
        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: group)
        options.guarantee = guarantee
        options.stopAtEnd = true
        options.checkpoints = checkpoints
        options.checkpointInterval = .milliseconds(200)
        options.maxDuration = .seconds(60)
        options.sessionTimeoutMs = 3000  // a restart in the same group waits less for the previous member
        return try KafkaRunner(options: options, embedded: broker).run(try compile())
    }

    /// The model-version record (weights, training counts) of a pipeline's champion.
    static func modelRecord(_ p: Pipeline) -> String? {
        p.model.map { String(decoding: $0.versionRecord(inputNames: ["x"]), as: UTF8.self) }
    }

    /// Value and headers of every record of a one-partition topic.
    static func read(_ broker: EmbeddedBroker, _ topic: String) throws -> [(value: String, headers: [String: String])] {
        try topicRecords(broker, topic)
    }

    static func labelCounters(_ c: PipelineCounters) -> [Int] {
        [c.scored, c.labelled, c.labelsJoined, c.labelsUnmatched, c.labelsExpired, c.labelDeadLetters]
    }

    /// One run to the end: every event scored, each label joined, unknown ones unmatched, the
    /// unlabelled events expired, the undecodable labels dead letters with their topic and
    /// offset; the scores are byte for byte those of the offline run in production order (the
    /// model learned from the same labels at the same points), whatever order the two topics
    /// were fetched in; at least once and exactly once (offsets of both topics in the transaction).
    @Test(arguments: [ProcessingSpec.Guarantee.atLeastOnce, .exactlyOnce])
    func runJoinsLabelsAsTheOfflinePipeline(guarantee: ProcessingSpec.Guarantee) throws {
        let s = Stream(seed: 41)
        let broker = try Self.broker(s)
        defer { broker.stop() }
        let p = try Self.run(broker, group: "labels-run", checkpoints: .kafka, guarantee: guarantee)
        let (ref, refSink) = try s.reference(try Self.compile())
        #expect(Self.labelCounters(p.counters) == Self.labelCounters(s.expected))
        #expect(Self.labelCounters(ref.counters) == Self.labelCounters(s.expected))
        #expect(p.model?.prequential.count == s.expected.labelsJoined)
        #expect(p.model?.prequential.logLoss == ref.model?.prequential.logLoss)
        let scores = try Self.read(broker, "labelled.scores").map(\.value)
        let expected = refSink.records.filter { $0.kind == OutputKind.scores.rawValue }.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(scores.count == 4000)
        #expect(scores == expected, "first difference: \(zip(scores, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "-")")
        let dlq = try Self.read(broker, "labelled.dlq")
        #expect(dlq.count == 2)
        #expect(dlq.map { $0.headers["weir.source.topic"] } == ["labels", "labels"])
        #expect(dlq.compactMap { $0.headers["weir.source.offset"].flatMap { Int64($0) } } == s.undecodable)
        #expect(dlq.map(\.value) == [#"{"event_id":"e5","is_fraud":"yes"}"#, "not json"])
        // The group's committed offsets cover both topics (for monitoring tools and rebalances).
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "label-test-offsets")
        let probe = try KafkaConsumer(configuration: ConsumerConfiguration(client: client, groupID: "labels-run"))
        defer { probe.close() }
        let committed = try probe.committed([TopicPartition(topic: "events", partition: 0), TopicPartition(topic: "labels", partition: 0)])
        #expect(committed.first { $0.topic == "events" }?.offset == s.eventEnd(8))
        #expect(committed.first { $0.topic == "labels" }?.offset == s.labelEnd(8))
    }

    /// Run to the end of the first half, stopped (checkpoint at shutdown), the second half
    /// produced, restarted to the end: nothing lost and no label applied twice (same counters and
    /// model as the uninterrupted offline run); the checkpoint holds the label topic's offsets.
    @Test func restartResumesBothTopicsFromTheCheckpoint() throws {
        let s = Stream(seed: 43)
        let broker = try Self.broker(s, chunks: 0..<4)
        defer { broker.stop() }
        let dir = tempDir()
        let first = try Self.run(broker, group: "labels-restart", checkpoints: .directory(dir))
        #expect(first.counters.scored == 2000)
        _ = try Self.broker(s, chunks: 4..<8, into: broker)
        let saved = try #require(try DirectoryCheckpointStore(directory: dir, topology: "labelled", group: "labels-restart").load())
        #expect(saved.labelTopic == "labels")
        #expect(saved.labelOffsets == [.init(partition: 0, offset: s.labelEnd(4))])
        #expect(saved.offsets == [.init(partition: 0, offset: s.eventEnd(4))])
        let p = try Self.run(broker, group: "labels-restart", checkpoints: .directory(dir))
        let (ref, _) = try s.reference(try Self.compile())
        #expect(Self.labelCounters(p.counters) == Self.labelCounters(s.expected))
        #expect(p.model?.prequential.count == s.expected.labelsJoined)
        #expect(p.model?.prequential.logLoss == ref.model?.prequential.logLoss)
        #expect(Self.modelRecord(p) == Self.modelRecord(ref))
    }

    /// The broker goes down for 6 s while both topics arrive (longer than the 3 s session: the
    /// assignment of both topics is lost, the state goes back to the newest checkpoint and both
    /// topics resume from its offsets): every event scored, every label record applied once, the
    /// same counters and model as the offline run.
    @Test func brokerDownMidStreamResumesBothTopics() throws {
        let s = Stream(seed: 53)
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        for t in ["events", "labels", "labelled.scores", "labelled.models", "labelled.dlq", "labelled.changelog"] {
            try broker.createTopic(t, partitions: 1)
        }
        let producerThread = Thread {
            for k in 0..<8 {
                _ = try? Self.broker(s, chunks: k..<(k + 1), into: broker)
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "labels-down")
        options.checkpointInterval = .milliseconds(300)
        options.sessionTimeoutMs = 3000
        options.maxDuration = .seconds(90)
        var runner = KafkaRunner(options: options, embedded: broker)
        let labelRecords = s.chunks.reduce(0) { $0 + $1.labels.count }
        let done = Shared(false), events = Shared(0)
        runner.onProgress = { p in
            events.set(p.counters.scored)
            let c = p.counters
            if c.scored >= 4000 && c.labelsJoined + c.labelsUnmatched + c.labelDeadLetters >= labelRecords { done.set(true) }
        }
        runner.shouldStop = { done.get() }
        let result = Shared<Result<Pipeline, any Error>?>(nil)
        let compiled = try Self.compile()
        let box = Shared(runner)
        let runnerThread = Thread { result.set(Result { try box.get().run(compiled) }) }
        runnerThread.start()
        producerThread.start()
        let deadline = Date().addingTimeInterval(80)
        while events.get() == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try broker.setBrokerDown(1)
        Thread.sleep(forTimeInterval: 6)
        try broker.setBrokerUp(1)
        while result.get() == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let p = try #require(try result.get()?.get())
        let (ref, _) = try s.reference(compiled)
        #expect(Self.labelCounters(p.counters) == Self.labelCounters(s.expected))
        #expect(Self.modelRecord(p) == Self.modelRecord(ref))
        #expect(p.model?.prequential.logLoss == ref.model?.prequential.logLoss)
    }

    /// The commit record of the code before label topics (version 1), frozen here: no label topic
    /// and no label offsets after the group.
    static func commitV1(_ c: Checkpoint, packedLength: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.writeHeader(tag: "WCKM", version: 1)
        w.write(c.topology); w.write(c.owner); w.write(c.epoch)
        w.write(UInt32(1)); w.write(UInt64(c.state.count)); w.write(fnv1a64(c.state))
        w.write(UInt8(1)); w.write(UInt64(packedLength))
        w.write(c.sourceTopic)
        w.write(UInt64(c.offsets.count))
        for o in c.offsets { w.write(o.partition); w.write(o.offset) }
        w.write(c.outputRecords); w.write(c.wallTimeMs)
        w.write(c.group)
        return w.bytes
    }

    /// A version-1 checkpoint file (as `DirectoryCheckpointStore` wrote it before label topics):
    /// the state after chunks 0..<4, the source offset after chunk 3, no label offsets.
    static func writeV1(_ s: Stream, dir: String, group: String) throws {
        // At the wall-clock time of the run that restores it (idleness is measured on it).
        let (p, _) = try s.reference(try compile(), upTo: 4, now: Int64(Date().timeIntervalSince1970 * 1000))
        let c = Checkpoint(topology: "labelled", group: group, epoch: 7, owner: "old", sourceTopic: "events",
                           offsets: [.init(partition: 0, offset: s.eventEnd(4))], wallTimeMs: Int64(Date().timeIntervalSince1970 * 1000),
                           state: p.checkpointState())
        let packed = ZeroRunLength.pack(c.state)
        let commit = commitV1(c, packedLength: packed.count)
        var bytes: [UInt8] = []
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: commit.count >> (8 * i))) }
        bytes += commit + packed
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/labelled.\(group).checkpoint"))
    }

    /// A checkpoint written before label topics (commit record version 1) still restores; the
    /// label topic, which it does not cover, starts from the group's committed offset (here the
    /// end of chunk 3: the run then equals the uninterrupted one), or without one from `--from`
    /// (earliest: the labels already in the state are read again and count as unmatched, none is
    /// learned twice).
    @Test func versionOneCheckpointRestoresAndLabelsFollowTheGroupOrTheStartPolicy() throws {
        let s = Stream(seed: 47)
        let broker = try Self.broker(s)
        defer { broker.stop() }
        let (ref, _) = try s.reference(try Self.compile())
        let dir = tempDir()

        try Self.writeV1(s, dir: dir, group: "committed")
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "label-test-committer")
        let committer = try KafkaConsumer(configuration: ConsumerConfiguration(client: client, groupID: "committed"))
        try committer.commit([TopicPartitionOffset(topic: "labels", partition: 0, offset: s.labelEnd(4))])
        committer.close()
        let a = try Self.run(broker, group: "committed", checkpoints: .directory(dir))
        #expect(Self.labelCounters(a.counters) == Self.labelCounters(s.expected))
        #expect(Self.modelRecord(a) == Self.modelRecord(ref))
        #expect(a.model?.prequential.logLoss == ref.model?.prequential.logLoss)
        let rewritten = try #require(try DirectoryCheckpointStore(directory: dir, topology: "labelled", group: "committed").load())
        #expect(rewritten.labelOffsets == [.init(partition: 0, offset: s.labelEnd(8))])

        try Self.writeV1(s, dir: dir, group: "fresh")
        let b = try Self.run(broker, group: "fresh", checkpoints: .directory(dir))
        let reread = s.chunks[0..<4].reduce(0) { $0 + $1.labels.count }
        var expected = s.expected
        expected.labelsUnmatched += reread - 2      // every decodable label of chunks 0..<4 again
        expected.labelDeadLetters += 2               // and the two undecodable ones of chunk 2
        #expect(Self.labelCounters(b.counters) == Self.labelCounters(expected))
        #expect(b.model?.prequential.count == s.expected.labelsJoined)
        #expect(b.model?.prequential.logLoss == ref.model?.prequential.logLoss)
    }
}
