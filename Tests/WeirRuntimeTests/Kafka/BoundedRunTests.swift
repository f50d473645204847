import Foundation
import Testing
import WeirCore
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `weir run --stop-at-end` on a topic with an empty partition: the partition that never gets a
/// record must not hold the watermark back, so the windows fire as in `weir replay` of the same
/// records (before, none fired: the empty partition held the watermark until the idleness
/// timeout, and the run ended first).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BoundedRunTests {
    static let yaml = """
        name: bounded
        source: {topics: [events], key: user, event_time: ts, out_of_orderness: 1s, idleness: 10m}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          x: {type: double}
        features:
          user_sum: {window: {tumbling: 10s}, by: user, aggregate: sum, field: x, emit: true}
          total: {window: {tumbling: 10s}, by: global, aggregate: count, emit: true}
        """

    /// 3,000 events over 60 s of event time, in time order, on partitions 0…10 of 12 (by user);
    /// partition 11 stays empty.
    static func records() -> [(partition: Int32, ts: Int64, line: String)] {
        var rng = SeededGenerator(seed: 11)
        return (0..<3000).map { i in
            let user = Int.random(in: 0..<55, using: &rng)
            let ts = 1_700_000_000_000 + Int64(i) * 20
            return (Int32(user % 11), ts, #"{"ts":\#(ts),"user":"u\#(user)","x":\#(Double(i % 17))}"#)
        }
    }

    /// The window records `weir replay` writes for the same records (one partition, file order).
    static func replayWindows() throws -> [String] {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(yaml, file: "bounded.yaml"))
        var pipeline = try Pipeline(compiled: compiled, partitions: 1)
        var sink = RecordingSink()
        var b = InputBatch(capacity: 3000)
        for (i, r) in records().enumerated() { b.append(Array(r.line.utf8), partition: 0, offset: Int64(i)) }
        try pipeline.process(b, topic: "events", now: 0, into: &sink)
        try pipeline.settle(into: &sink)
        return sink.records.filter { $0.kind == OutputKind.windows.rawValue }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    static func read(_ broker: EmbeddedBroker, topic: String) throws -> [String] {
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "bounded-reader"), groupID: "bounded-reader"))
        defer { reader.close() }
        let high = try reader.watermarks(TopicPartition(topic: topic, partition: 0)).high
        try reader.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: TopicPartitionOffset.beginning)])
        var out: [String] = []
        let until = Date().addingTimeInterval(20)
        while out.count < high && Date() < until {
            try reader.poll(timeout: .milliseconds(200)) { m in out.append(m.value.map { String(decoding: $0, as: UTF8.self) } ?? "") }
        }
        return out
    }

    @Test(arguments: ["timestamp", "arrival"])
    func anEmptyPartitionDoesNotHoldTheWindowsOfABoundedRun(order: String) throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        try broker.createTopic("events", partitions: 12)
        for t in ["bounded.windows", "bounded.dlq", "bounded.late"] { try broker.createTopic(t, partitions: 1) }
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "bounded-producer")))
        let events = try producer.topic("events")
        for r in Self.records() { try producer.send(to: events, partition: r.partition, key: nil, value: Array(r.line.utf8), timestamp: r.ts) }
        try producer.flush(timeout: .seconds(30))
        producer.close()

        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "bounded-\(order)")
        options.stopAtEnd = true
        options.checkpoints = .none
        options.order = order == "timestamp" ? .timestamp : .arrival
        options.maxDuration = .seconds(60)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(Self.yaml, file: "bounded.yaml"), partitions: 12)
        let pipeline = try KafkaRunner(options: options, embedded: broker).run(compiled)
        #expect(pipeline.counters.records == 3000)

        let want = try Self.replayWindows()
        // 60 s of events in 10 s windows, 1 s out of orderness: the first five windows of every
        // key and the global one fire; the last stays open (no flush at the end, as in replay)
        #expect(want.count > 250)
        let got = try Self.read(broker, topic: "bounded.windows")
        #expect(got.count == want.count, "\(got.count) window records, replay wrote \(want.count)")
        let (g, w) = (got.sorted(), want.sorted())
        let same = g == w
        #expect(same, "first difference: \(zip(g, w).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "-")")
    }
}
