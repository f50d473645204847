import Foundation
import Testing
import WeirCore
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `source.order: timestamp` (the default): `weir run` merges the source partitions in message
/// timestamp order, so its outputs equal an offline ``Pipeline`` fed the records sorted by
/// (timestamp, partition, offset), whatever order librdkafka fetched the partitions in; with
/// `order: arrival` the pipeline sees the fetch interleaving instead.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SourceOrderTests {
    static func topology(order: String) -> String {
        """
        name: ordered
        source: {topics: [events], key: user, event_time: ts, out_of_orderness: 1s, order: \(order)}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          x: {type: double}
          label: {type: int, required: false, min: 0, max: 1}
        features:
          user_mean: {window: {tumbling: 10s}, by: user, aggregate: mean, field: x}
          total: {window: {tumbling: 10s}, by: global, aggregate: count, emit: true}
        model:
          inputs: [x, user_mean]
          learning_rate: 0.3
        """
    }

    /// 6,000 events over 4 partitions (by user), stamped with their event time; each partition is
    /// written in its own burst, so the log's partition order is far from the time order.
    struct Stream {
        var perPartition: [[(ts: Int64, line: String)]] = Array(repeating: [], count: 4)
        init(seed: UInt64) {
            var rng = SeededGenerator(seed: seed)
            for i in 0..<6000 {
                let user = Int.random(in: 0..<40, using: &rng)
                let ts = 1_700_000_000_000 + Int64(i) * 25
                let x = Double.random(in: -3...3, using: &rng)
                let label = Double.random(in: 0...1, using: &rng) < 0.5 ? (x > 0 ? 1 : 0) : -1
                let line = label < 0 ? #"{"ts":\#(ts),"user":"u\#(user)","x":\#(x)}"# : #"{"ts":\#(ts),"user":"u\#(user)","x":\#(x),"label":\#(label)}"#
                perPartition[user % 4].append((ts, line))
            }
        }

        /// (partition, offset, line) sorted by (timestamp, partition, offset): the merge order.
        var merged: [(partition: Int32, offset: Int64, line: String)] {
            var all: [(ts: Int64, p: Int32, o: Int64, line: String)] = []
            for (p, recs) in perPartition.enumerated() {
                for (o, r) in recs.enumerated() { all.append((r.ts, Int32(p), Int64(o), r.line)) }
            }
            return all.sorted { ($0.ts, $0.p, $0.o) < ($1.ts, $1.p, $1.o) }.map { ($0.p, $0.o, $0.line) }
        }
    }

    static func compile(order: String) throws -> CompiledTopology {
        try TopologyCompiler.compile(try TopologyLoader.parse(topology(order: order), file: "ordered.yaml"), partitions: 4)
    }

    static func broker(_ s: Stream) throws -> EmbeddedBroker {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: 4)
        for t in ["ordered.scores", "ordered.windows", "ordered.models", "ordered.dlq", "ordered.late"] { try broker.createTopic(t, partitions: 1) }
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "order-test-producer")))
        let events = try producer.topic("events")
        for (p, recs) in s.perPartition.enumerated() {
            for r in recs { try producer.send(to: events, partition: Int32(p), key: nil, value: Array(r.line.utf8), timestamp: r.ts) }
            try producer.flush(timeout: .seconds(30))
        }
        producer.close()
        return broker
    }

    static func run(_ broker: EmbeddedBroker, order: String) throws -> Pipeline {
        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "order-\(order)")
        options.stopAtEnd = true
        options.checkpoints = .none
        options.maxDuration = .seconds(60)
        return try KafkaRunner(options: options, embedded: broker).run(try compile(order: order))
    }

    static func scores(_ broker: EmbeddedBroker) throws -> [String] {
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "order-test-reader"), groupID: "order-test-reader"))
        defer { reader.close() }
        let high = try reader.watermarks(TopicPartition(topic: "ordered.scores", partition: 0)).high
        try reader.assign([TopicPartitionOffset(topic: "ordered.scores", partition: 0, offset: TopicPartitionOffset.beginning)])
        var out: [String] = []
        let until = Date().addingTimeInterval(20)
        while out.count < high && Date() < until {
            try reader.poll(timeout: .milliseconds(200)) { m in out.append(m.value.map { String(decoding: $0, as: UTF8.self) } ?? "") }
        }
        return out
    }

    @Test func timestampOrderEqualsTheOfflineMergedOrder() throws {
        let s = Stream(seed: 7)
        let broker = try Self.broker(s)
        defer { broker.stop() }
        let p = try Self.run(broker, order: "timestamp")
        // The offline reference: the same records, merged by (timestamp, partition, offset).
        var ref = try Pipeline(compiled: try Self.compile(order: "timestamp"), partitions: 4)
        var sink = RecordingSink()
        let merged = s.merged
        for start in stride(from: 0, to: merged.count, by: 500) {
            var b = InputBatch(capacity: 500)
            for r in merged[start..<min(start + 500, merged.count)] { b.append(Array(r.line.utf8), partition: r.partition, offset: r.offset) }
            try ref.process(b, topic: "events", now: 0, into: &sink)
        }
        #expect(p.counters.scored == 6000)
        #expect(p.model?.prequential.logLoss == ref.model?.prequential.logLoss)
        #expect(p.model?.prequential.count == ref.model?.prequential.count)
        let expected = sink.records.filter { $0.kind == OutputKind.scores.rawValue }.map { String(decoding: $0.value, as: UTF8.self) }
        let got = try Self.scores(broker)
        #expect(got.count == 6000)
        #expect(got == expected, "first difference: \(zip(got, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "-")")
    }

    /// The arrival order reads each partition's burst in turn: the model sees a different
    /// sequence than the merged one (shown by its prequential log loss), yet every event is scored.
    @Test func arrivalOrderFollowsTheFetches() throws {
        let s = Stream(seed: 7)
        let broker = try Self.broker(s)
        defer { broker.stop() }
        let arrival = try Self.run(broker, order: "arrival")
        #expect(arrival.counters.scored == 6000)
        var ref = try Pipeline(compiled: try Self.compile(order: "arrival"), partitions: 4)
        var sink = RecordingSink()
        var b = InputBatch(capacity: 6000)
        for r in s.merged { b.append(Array(r.line.utf8), partition: r.partition, offset: r.offset) }
        try ref.process(b, topic: "events", now: 0, into: &sink)
        #expect(arrival.model?.prequential.logLoss != ref.model?.prequential.logLoss)
    }
}
