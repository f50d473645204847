import Foundation
import Testing
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// No `weir run` loop iteration waits for the fetch the broker holds open while the consumer is at
/// the end of its partitions (`fetch.wait.max.ms`; librdkafka's mock answers one connection's
/// requests in order). Two watermark queries on the consumer's own connection did: the lag
/// refresh for `/metrics` and `/readyz` every 2 s (one query per partition: the ~2.3 s stall of
/// 2026-11-23, docs/fault-tolerance.md "Cost") and the offset reset of each partition of a new
/// group (one fetch wait per partition while the first partitions' records waited). Here the
/// fetch wait is 2 s: with the old lag query the run's progress reports (about once a second)
/// paused 8 s, with the old reset query 4 s.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RunLoopStallTests {
    static let yaml = """
        name: stall
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          x: {type: double}
        features:
          user_sum: {window: {tumbling: 10s}, by: user, aggregate: sum, field: x}
        """

    /// An embedded broker with the topology's topics and `count` events of 7 users (10 ms apart)
    /// spread round-robin over `partitions` partitions of `events`.
    static func brokerWithEvents(_ count: Int, partitions: Int32) throws -> EmbeddedBroker {
        let broker = try EmbeddedBroker()
        try broker.createTopic("events", partitions: partitions)
        for t in ["stall.dlq", "stall.late"] { try broker.createTopic(t, partitions: 1) }
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "stall-producer")))
        let events = try producer.topic("events")
        for i in 0..<count {
            let line = #"{"ts":\#(1_700_000_000_000 + Int64(i) * 10),"user":"u\#(i % 7)","x":\#(i % 5)}"#
            try producer.send(to: events, partition: Int32(i) % partitions, key: nil, value: Array(line.utf8))
        }
        try producer.flush(timeout: .seconds(30))
        producer.close()
        return broker
    }

    @Test func noLoopIterationWaitsForTheHeldFetch() throws {
        let perPartition = 100
        let broker = try Self.brokerWithEvents(4 * perPartition, partitions: 4)
        defer { broker.stop() }

        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "stall")
        options.checkpoints = .none
        // A safety net only: the run stops itself once it has idled `idle` with every lag known.
        options.maxDuration = .seconds(60)
        options.properties = ["fetch.wait.max.ms": "2000"]
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(Self.yaml, file: "stall.yaml"), partitions: 4)
        var runner = KafkaRunner(options: options, embedded: broker)
        let status = RuntimeStatus()
        runner.status = status  // turns on the lag refresh (`weir run` always sets a status, for /readyz)
        let clock = ContinuousClock()
        var reports: [ContinuousClock.Instant] = []
        var seconds: [Double] = []
        var lag: [Int32: Int64] = [:]
        // How the partitions' first fetches fall behind the held fetch varies (one partition can
        // wait a whole fetch wait for its first records), so the run is not timed from its start:
        // once every partition was read to its end and the lag refresh saw all four, it idles
        // `idle` (two lag refreshes at least, each of which used to stall 2 s per partition).
        let idle: Duration = .seconds(5)
        let caughtUp = Shared<ContinuousClock.Instant?>(nil)
        runner.onProgress = { p in
            reports.append(clock.now)
            seconds.append(p.seconds)
            if !status.snapshot.lag.isEmpty { lag = status.snapshot.lag }
            if caughtUp.get() == nil, p.events == 4 * perPartition, lag == [0: 0, 1: 0, 2: 0, 3: 0] {
                caughtUp.set(clock.now)
            }
        }
        runner.shouldStop = { caughtUp.get().map { clock.now - $0 >= idle } ?? false }
        let pipeline = try runner.run(compiled)

        #expect(pipeline.counters.records == 4 * perPartition)
        // The lag was refreshed after every partition was read to its end (the lag path ran).
        #expect(lag == [0: 0, 1: 0, 2: 0, 3: 0])
        let idleSince = try #require(caughtUp.get(), "the run never caught up: lag \(lag)")
        // Progress about once a second, idle included, with a lag refresh every 2 s. A query behind
        // the held fetch pauses it 2 s per partition.
        let gaps = zip(reports, reports.dropFirst()).map { $1 - $0 }
        #expect(reports.filter { $0 > idleSince }.count >= 4, "\(reports.count) progress reports, idle from the one at \(seconds)")
        let longest = gaps.max() ?? .zero
        #expect(longest < .seconds(3), "a loop iteration took \(longest) (the broker holds an idle fetch 2 s); reports at \(seconds)")
    }
}
