import Foundation
import Testing
import WeirCore
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// Issue 16 item 4: a single instance with checkpoints in Kafka (the default) holds the lease and
/// then reads every source partition itself, without joining the source group. A group's first
/// join waits the broker's initial rebalance delay (3 s on the embedded broker, as
/// `group.initial.rebalance.delay.ms` on Kafka), so joining it after the lease group doubled the
/// start (two such waits). Offsets are still committed to the group, and a restart resumes from
/// the checkpoint, including a partition that had no records before it.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SingleInstanceStartTests {
    static let yaml = """
        name: start
        source: {topics: [events], key: user, event_time: ts, out_of_orderness: 1s}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          x: {type: double}
        features:
          user_sum: {window: {tumbling: 10s}, by: user, aggregate: sum, field: x, emit: true}
        """

    static func produce(_ broker: EmbeddedBroker, count: Int, from first: Int, partitions: [Int32]) throws {
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "start-producer")))
        defer { producer.close() }
        let events = try producer.topic("events")
        for i in first..<(first + count) {
            let p = partitions[i % partitions.count]
            let ts = 1_700_000_000_000 + Int64(i) * 10
            let line = #"{"ts":\#(ts),"user":"u\#(i % 40)","x":\#(Double(i % 13))}"#
            try producer.send(to: events, partition: p, key: nil, value: Array(line.utf8), timestamp: ts)
        }
        try producer.flush(timeout: .seconds(30))
    }

    /// Runs to the end of the input; returns the events this run processed and its last progress report.
    static func run(_ broker: EmbeddedBroker, _ compiled: CompiledTopology) throws -> (events: Int, progress: RunProgress?) {
        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "start")
        options.stopAtEnd = true
        options.maxDuration = .seconds(60)
        guard case .kafka = options.checkpoints else { Issue.record("the default is checkpoints in the changelog (one active instance by the lease)"); return (0, nil) }
        var runner = KafkaRunner(options: options, embedded: broker)
        nonisolated(unsafe) var last: RunProgress?
        runner.onProgress = { last = $0 }
        _ = try runner.run(compiled)
        return (last?.events ?? 0, last)
    }

    @Test func theActiveInstanceStartsReadingWithoutASecondGroupJoin() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        try broker.createTopic("events", partitions: 4)
        for t in ["start.windows", "start.dlq", "start.late"] { try broker.createTopic(t, partitions: 1) }
        // Partition 3 stays empty in the first run.
        try Self.produce(broker, count: 3_000, from: 0, partitions: [0, 1, 2])
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(Self.yaml, file: "start.yaml"), partitions: 4)

        let first = try Self.run(broker, compiled)
        #expect(first.events == 3_000)
        let progress = try #require(first.progress)
        // From the term's start (the lease held) to the first record: a group join would take at
        // least the broker's 3 s initial rebalance delay.
        let wait = progress.seconds - progress.activeSeconds
        #expect(wait < 2.0, "the first record came \(wait) s after the term started: did the source consumer join a group?")

        // The group offsets are committed without membership (lag tools read them).
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "start-reader"), groupID: "start"))
        defer { reader.close() }
        let committed = try reader.committed((0..<4).map { TopicPartition(topic: "events", partition: $0) })
        #expect(committed.sorted { $0.partition < $1.partition }.map(\.offset).prefix(3) == [1_000, 1_000, 1_000])

        // A restart resumes from the checkpoint: only the new records, the empty partition's
        // first ones included (it is not in the checkpoint, and starts at its beginning).
        try Self.produce(broker, count: 800, from: 3_000, partitions: [0, 1, 2, 3])
        let second = try Self.run(broker, compiled)
        #expect(second.events == 800, "the restart processed \(second.events) events, 800 were new")
    }
}
