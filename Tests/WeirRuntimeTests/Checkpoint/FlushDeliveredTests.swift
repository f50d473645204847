import Foundation
import Testing
import WeirKafka
@testable import WeirRuntime

/// ``CheckpointCoordinator/flushDelivered(_:what:whileWaiting:)``, which every checkpoint writer
/// (the coordinator, a partitioned instance's tasks, the global stage) calls before it treats
/// records as durable: records that could not be delivered stop the checkpoint with an error
/// that says how many of what, never a silent success. On `scripts/test`'s serial list, like every
/// test that takes a broker down: librdkafka's mock then re-binds the broker's port, and aborts
/// (`mrkb->listen_s != -1`) when a test running beside it took the port meanwhile.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct FlushDeliveredTests {
    @Test(arguments: [false, true])
    func undeliveredRecordsStopTheCheckpoint(whileWaiting: Bool) throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        try broker.createTopic("changelog", partitions: 1)
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), deliveryTimeoutMs: 1_000))
        let topic = try producer.topic("changelog")
        try producer.send(to: topic, partition: 0, key: nil, value: Array("ok".utf8))
        try CheckpointCoordinator.flushDelivered(producer, what: "checkpoint records")  // delivered: no error
        try broker.setBrokerDown(1)
        for i in 0..<3 { try producer.send(to: topic, partition: 0, key: nil, value: Array("lost \(i)".utf8)) }
        var calls = 0
        var message = ""
        do {
            try CheckpointCoordinator.flushDelivered(producer, what: "checkpoint records", whileWaiting: whileWaiting ? { calls += 1 } : nil)
        } catch {
            message = "\(error)"
        }
        #expect(message.contains("3 checkpoint records were not delivered") && message.contains("not committing"), "\(message)")
        #expect(producer.counts.delivered == 1 && producer.counts.failed == 3)
        if whileWaiting { #expect(calls > 0) }
    }
}
