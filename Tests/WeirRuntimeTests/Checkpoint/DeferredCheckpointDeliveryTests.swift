import Foundation
import Logging
import Testing
import WeirCore
import WeirKafka
import WeirTopology
@testable import WeirRuntime

/// Periodic checkpoints at least once (`awaitDelivery: false`): the run goes on while a
/// checkpoint's records travel; the next checkpoint confirms them before it commits anything,
/// so increments chain only on delivered checkpoints and a failed delivery stops the run there.
/// On `scripts/test`'s serial list: one test takes the embedded broker down.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DeferredCheckpointDeliveryTests {
    struct Rig {
        let broker: EmbeddedBroker
        let client: KafkaConfiguration
        let producer: KafkaProducer
        let compiled: CompiledTopology
        let batches: [InputBatch]

        init(deliveryTimeoutMs: Int = 30_000) throws {
            broker = try EmbeddedBroker()
            (compiled, batches) = try IncrementalCheckpointTests.cardFraud()
            try broker.createTopic("\(compiled.spec.name).changelog", partitions: 1)
            client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "deferred")
            producer = try KafkaProducer(configuration: ProducerConfiguration(client: client, deliveryTimeoutMs: deliveryTimeoutMs))
        }

        func coordinator(owner: String) throws -> CheckpointCoordinator {
            let store = try KafkaChangelogStore(topology: compiled.spec.name, group: "g", producer: producer, client: client)
            return CheckpointCoordinator(store: store, guarantee: .atLeastOnce, owner: owner, topology: compiled.spec.name, group: "g",
                                         sourceTopic: "transactions", fullEvery: 10, producer: producer, logger: Logger(label: "test"))
        }

        func sink() throws -> KafkaSink {
            try KafkaSink(producer: producer, sinks: compiled.spec.sinks, sourceTopic: "transactions", tagging: true)
        }
    }

    @Test func aPeriodicCheckpointIsConfirmedByTheNextAndRestoresLikeAnAwaitedOne() throws {
        let rig = try Rig()
        defer { rig.broker.stop() }
        let c = try rig.coordinator(owner: "a")
        var pipeline = try Pipeline(compiled: rig.compiled, partitions: 1, now: 0)
        var sink = try rig.sink()
        #expect(try c.restore(into: &pipeline) == nil)
        var processed = 0
        func process(_ n: Int) throws {
            for b in rig.batches[processed..<(processed + n)] { try pipeline.process(b, topic: "transactions", now: 0, into: &sink) }
            processed += n
            try pipeline.settle(into: &sink)
        }
        var epochs: [UInt64] = []
        var increments = 0
        // until a checkpoint after the first two is an increment (the chain restored below then
        // runs through increments written on deferred-confirmed bases)
        for round in 0..<10 where round < 3 || !c.lastWasIncrement {
            try process(3)
            try c.checkpoint(pipeline, offsets: [0: Int64(processed * 500)], sink: &sink, awaitDelivery: false)
            // this checkpoint waits for confirmation; the one before it was confirmed first
            #expect(c.undelivered?.epoch == c.epoch, "round \(round)")
            epochs.append(c.epoch)
            if c.lastWasIncrement { increments += 1 }
        }
        #expect(epochs == Array(1...UInt64(epochs.count)) && increments >= 2 && c.lastWasIncrement)
        let last = c.epoch
        try c.awaitDelivery()
        #expect(c.undelivered == nil)
        #expect(rig.producer.counts.failed == 0)
        // a new owner restores the newest chain (image + increments): its state is the pipeline's
        // at the last checkpoint, bit for bit
        let chain = try KafkaChangelogStore(topology: rig.compiled.spec.name, group: "g", producer: rig.producer, client: rig.client).loadChain()
        #expect(chain.map(\.epoch).last == last && chain.count >= 2 && chain.last?.offsets.first?.offset == Int64(processed * 500), "\(chain.map { ($0.epoch, $0.base as Any, $0.state.count) })")
        var restored = try Pipeline(compiled: rig.compiled, partitions: 1, now: 0)
        try restored.restoreState(try #require(chain.first).state)
        for inc in chain.dropFirst() { try restored.applyIncrement(inc.state) }
        #expect(restored.checkpointState() == pipeline.checkpointState())
        let next = try rig.coordinator(owner: "b")
        var again = try Pipeline(compiled: rig.compiled, partitions: 1, now: 0)
        #expect(try next.restore(into: &again)?.epoch == last)
    }

    @Test func anUndeliveredPeriodicCheckpointStopsTheNextBeforeItWritesAnything() throws {
        let rig = try Rig(deliveryTimeoutMs: 1_000)
        defer { rig.broker.stop() }
        let c = try rig.coordinator(owner: "a")
        var pipeline = try Pipeline(compiled: rig.compiled, partitions: 1, now: 0)
        var sink = try rig.sink()
        for b in rig.batches[0..<3] { try pipeline.process(b, topic: "transactions", now: 0, into: &sink) }
        try pipeline.settle(into: &sink)
        try rig.producer.flush(timeout: .seconds(10))  // the outputs are delivered; now the broker goes
        let delivered = rig.producer.counts.delivered
        try rig.broker.setBrokerDown(1)
        defer { try? rig.broker.setBrokerUp(1) }
        // a periodic checkpoint returns with its records queued (an awaited one would throw here)
        try c.checkpoint(pipeline, offsets: [0: 1_500], sink: &sink, awaitDelivery: false)
        #expect(c.undelivered?.epoch == 1 && c.epoch == 1)
        // the next one finds them undelivered and stops before writing epoch 2
        for b in rig.batches[3..<4] { try pipeline.process(b, topic: "transactions", now: 0, into: &sink) }
        var message = ""
        do {
            try c.checkpoint(pipeline, offsets: [0: 2_000], sink: &sink, awaitDelivery: false)
        } catch {
            message = "\(error)"
        }
        #expect(message.contains("output or checkpoint records were not delivered") && message.contains("not committing"), "\(message)")
        #expect(c.epoch == 1 && c.undelivered?.epoch == 1 && c.written == 1)
        #expect(rig.producer.counts.failed > 0 && rig.producer.counts.delivered == delivered)
    }
}
