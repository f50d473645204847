import Foundation
import Testing
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// Thread-safe box for values shared with the runner's thread.
final class Shared<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct BrokerFaultTests {
    /// The (only) broker goes down for 10 s mid-stream (mock fault injection): `weir run` pauses
    /// (produce and fetch are retried, the checkpoint waits for its flush), resumes when it is back,
    /// loses nothing (every good event has a score record) and does not fail.
    @Test func brokerDownTenSecondsMidStream() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 5000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 2500}")
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "card-fraud.yaml"))
        try broker.createTopic("transactions", partitions: 1)
        try broker.createTopic("card-fraud.scores", partitions: 4)
        try broker.createTopic("card-fraud.changelog", partitions: 1)
        let total = 12_000
        let gen = CardFraudGenerator(seed: 21, users: 300, driftAt: 6_000)
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "fault-test")

        // Input arrives over ~6 s; the broker is down from ~2 s to ~12 s.
        let produced = Shared(0)
        let producerThread = Thread {
            guard let p = try? KafkaProducer(configuration: ProducerConfiguration(client: client)),
                  let t = try? p.topic("transactions") else { return }
            for i in 0..<total {
                try? p.send(to: t, partition: 0, key: nil, value: Array(gen.event(i).utf8))
                if i % 1000 == 999 { p.poll(); Thread.sleep(forTimeInterval: 0.5) }
                produced.set(i + 1)
            }
            try? p.flush(timeout: .seconds(60))
            p.close()
        }
        producerThread.start()

        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "fault-test")
        options.checkpointInterval = .milliseconds(500)
        var runner = KafkaRunner(options: options, embedded: broker)
        let stop = Shared(false)
        let events = Shared(0)
        let outcome = Shared<String?>(nil)
        runner.shouldStop = { stop.get() }
        // Inputs in the pipeline's state (a resume from a checkpoint re-reads some: not counted twice).
        runner.onProgress = { events.set($0.counters.records + $0.counters.deadLetters) }
        let box = Shared(runner)
        let runnerThread = Thread {
            do {
                _ = try box.get().run(compiled)
                outcome.set("ok")
            } catch {
                outcome.set("error: \(error)")
            }
        }
        runnerThread.start()
        let deadline = Date().addingTimeInterval(90)
        while events.get() == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(events.get() > 0)
        try broker.setBrokerDown(1)
        let downAt = events.get()
        Thread.sleep(forTimeInterval: 10)
        let duringDown = events.get()
        try broker.setBrokerUp(1)
        while events.get() < total && Date() < deadline && outcome.get() == nil { Thread.sleep(forTimeInterval: 0.1) }
        stop.set(true)
        while outcome.get() == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(outcome.get() == "ok")
        #expect(events.get() == total, "processed \(events.get()) of \(total)")
        // Paused: at most what was already fetched was processed while the broker was down.
        #expect(duringDown - downAt <= 4096, "\(duringDown - downAt) events processed while the broker was down")

        // Every event has a score record (read back with a plain consumer).
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(client: client, groupID: "fault-test-reader"))
        defer { reader.close() }
        var offsets = Set<Int64>()
        var records = 0
        for p in Int32(0)..<4 {
            let high = try reader.watermarks(TopicPartition(topic: "card-fraud.scores", partition: p)).high
            try reader.assign([TopicPartitionOffset(topic: "card-fraud.scores", partition: p, offset: TopicPartitionOffset.beginning)])
            var next: Int64 = 0
            let until = Date().addingTimeInterval(20)
            while next < high && Date() < until {
                try reader.poll(timeout: .milliseconds(200)) { m in
                    next = m.offset + 1
                    records += 1
                    if let v = m.header("weir.id"), let id = OutputID(String(decoding: v, as: UTF8.self)) { offsets.insert(id.offset) }
                }
            }
        }
        #expect(offsets.count == total, "\(offsets.count) distinct scored offsets of \(total) (\(records) score records)")
    }
}
