import Foundation
import Testing
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `weir run --partitioned --guarantee exactly_once` in process on the embedded broker: a fenced
/// producer (the error a real transaction coordinator sends a zombie; librdkafka 2.0.2's mock
/// never fences by itself, so it is injected) stops the instance with a typed fatal error and
/// no half-committed transaction; the instance that takes over commits every score once.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct PartitionedExactlyOnceTests {
    /// Runs `runner` on a thread; the outcome is "ok" or the error.
    static func start(_ runner: KafkaRunner, _ compiled: CompiledTopology, outcome: Shared<(any Error)?>, done: Shared<Bool>) {
        let box = Shared(runner)
        Thread {
            do { _ = try box.get().run(compiled) } catch { outcome.set(error) }
            done.set(true)
        }.start()
    }

    @Test func aFencedProducerStopsTheInstanceAndTheNextCommitsEachScoreOnce() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 2000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 1000}")
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "card-fraud.yaml"))
        try broker.createTopic("transactions", partitions: 2)
        try broker.createTopic("card-fraud.scores", partitions: 4)
        let total = 8_000
        let gen = CardFraudGenerator(seed: 31, users: 400, driftAt: 4_000)
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "eos-test")
        // Keyed by user (the topology's source.key), over ~8 s: the fencing comes mid-stream.
        let producerThread = Thread {
            guard let p = try? KafkaProducer(configuration: ProducerConfiguration(client: client)),
                  let t = try? p.topic("transactions") else { return }
            for i in 0..<total {
                let line = gen.event(i)
                let user = line.range(of: #""user":"[^"]*""#, options: .regularExpression).map { Array(line[$0].utf8.dropFirst(8).dropLast()) } ?? []
                try? p.send(to: t, key: user, value: Array(line.utf8))
                if i % 500 == 499 { p.poll(); Thread.sleep(forTimeInterval: 0.5) }
            }
            try? p.flush(timeout: .seconds(60))
            p.close()
        }
        producerThread.start()

        let stop = Shared(false)
        defer { stop.set(true) }  // a runner still going when an expectation failed
        func runner(_ id: String, stopAtEnd: Bool, events: Shared<Int>) -> KafkaRunner {
            var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "eos-test")
            options.partitioned = true
            options.guarantee = .exactlyOnce
            options.checkpointInterval = .milliseconds(300)
            options.weightsMaxLead = 256
            options.instanceID = id
            options.stopAtEnd = stopAtEnd
            options.sessionTimeoutMs = 6000
            var r = KafkaRunner(options: options, embedded: broker)
            r.shouldStop = { stop.get() }
            r.onProgress = { events.set($0.events) }
            return r
        }
        // The first instance commits a few transactions, then its producer is fenced.
        let events = Shared(0), outcome = Shared<(any Error)?>(nil), done = Shared(false)
        Self.start(runner("first", stopAtEnd: false, events: events), compiled, outcome: outcome, done: done)
        let deadline = Date().addingTimeInterval(90)
        while events.get() < 2_000 && Date() < deadline && !done.get() { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!done.get(), "the first instance stopped early: \(String(describing: outcome.get()))")
        let fencedAt = events.get()
        broker.pushRequestErrors(apiKey: 24, errors: [.producerFenced])  // AddPartitionsToTxn
        while !done.get() && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let error = outcome.get()
        guard case .fenced? = error as? KafkaError else {
            Issue.record("expected the fenced error, got \(String(describing: error))")
            return
        }
        #expect((error as? KafkaError)?.isFatal == true)  // weir run: exit 2
        #expect(fencedAt < total && events.get() < total, "fenced at \(fencedAt) events, stopped at \(events.get()) of \(total)")

        // The next instance restores the committed checkpoints and runs to the end.
        while producerThread.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        let events2 = Shared(0), outcome2 = Shared<(any Error)?>(nil), done2 = Shared(false)
        Self.start(runner("second", stopAtEnd: true, events: events2), compiled, outcome: outcome2, done: done2)
        while !done2.get() && Date() < deadline.addingTimeInterval(60) { Thread.sleep(forTimeInterval: 0.1) }
        #expect(done2.get() && outcome2.get() == nil, "second instance: \(String(describing: outcome2.get()))")

        // Transactions committed: a commit record of that writer and epoch in its changelog.
        var closed: [String: Int] = [:]
        for (topic, n) in [("card-fraud.changelog", Int32(2)), ("card-fraud.global.changelog", Int32(1))] {
            for r in try topicRecords(broker, topic, partitions: n) {
                guard let owner = r.headers["weir.owner"], let epoch = r.headers["weir.epoch"], let count = r.headers["weir.records"] else { continue }
                closed["\(owner)/\(epoch)"] = Int(count)
            }
        }
        #expect(closed.keys.contains { $0.hasPrefix("first.p") } && closed.keys.contains { $0.hasPrefix("second.global/") })
        var inTransaction: [String: Int] = [:]
        var committedPositions: [String: Int] = [:]
        // The sink topics this run writes (a reader of a topic that does not exist is slow to close).
        for (kind, n) in [("scores", Int32(4)), ("drift", 1), ("alerts", 1), ("retrain", 1), ("models", 1)] {
            for r in try topicRecords(broker, "card-fraud.\(kind)", partitions: n) {
                guard let txn = r.headers["weir.txn"] else { Issue.record("a \(kind) record without weir.txn"); continue }
                let id = txn.split(separator: "/").dropLast().joined(separator: "/")
                inTransaction[id, default: 0] += 1
                if kind == "scores" && closed[id] != nil {
                    let id = OutputID(r.headers["weir.id"])
                    committedPositions["\(id?.partition ?? -1)/\(id?.offset ?? -1)", default: 0] += 1
                }
            }
        }
        // No commit record without all of its transaction's records (the fenced one left none half-done).
        for (id, n) in closed where n > 0 { #expect(inTransaction[id] == n, "transaction \(id): \(inTransaction[id] ?? 0) records, its commit record says \(n)") }
        // Every event scored once in the committed transactions.
        #expect(committedPositions.count == total, "\(committedPositions.count) positions with a committed score of \(total)")
        #expect(committedPositions.values.allSatisfy { $0 == 1 }, "\(committedPositions.values.filter { $0 > 1 }.count) positions scored in two committed transactions")
    }
}
