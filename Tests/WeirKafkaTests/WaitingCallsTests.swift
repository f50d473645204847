import Foundation
import Testing
@testable import WeirKafka

/// The flush and commit that let their caller work while they wait for the broker
/// (`whileWaiting`): the same outcome and errors as the blocking calls, and the caller's closure
/// runs, on the calling thread, for as long as the broker takes to answer.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WaitingCallsTests {
    /// A broker, a topic and a producer that has delivered one message (connected, the topic known).
    static func connected(_ name: String, partitions: Int32) throws -> (EmbeddedBroker, KafkaProducer, ProducerTopic) {
        let broker = try EmbeddedBroker()
        let topic = uniqueName(name)
        try broker.createTopic(topic, partitions: partitions)
        let p = try producer(broker)
        let t = try p.topic(topic)
        try p.send(to: t, key: nil, value: Array("warm".utf8))
        try p.flush()
        return (broker, p, t)
    }

    /// A broker 60 ms away: the flush returns with every message delivered and the closure ran
    /// through the wait (about every millisecond: at least 10 times), on this thread.
    @Test func flushDeliversEverythingWhileTheCallerWorks() throws {
        let (broker, p, t) = try Self.connected("flushwait", partitions: 2)
        try broker.setRoundTripTime(broker: 1, milliseconds: 60)
        for i in 0..<10_000 { try p.send(to: t, key: nil, value: Array("\(i)".utf8)) }
        let thread = Thread.current
        var calls = 0
        var onThisThread = true
        let began = ContinuousClock().now
        try p.flush(timeout: .seconds(30)) {
            calls += 1
            onThisThread = onThisThread && Thread.current == thread
        }
        let waited = ContinuousClock().now - began
        #expect(p.counts.delivered == 10_001 && p.counts.failed == 0 && p.counts.inFlight == 0)
        #expect(waited >= .milliseconds(60))
        #expect(calls >= 10, "the closure ran \(calls) times during a \(waited) flush")
        #expect(onThisThread)
        // Nothing in flight: returns at once without calling.
        var more = 0
        try p.flush(timeout: .seconds(1)) { more += 1 }
        #expect(more == 0)
    }

    /// The flush still gives up after its timeout with the same typed error.
    @Test func flushTimesOutWithTheTypedError() throws {
        let (broker, p, t) = try Self.connected("flushdown", partitions: 1)
        try broker.setBrokerDown(1)
        try p.send(to: t, key: nil, value: Array("stuck".utf8))
        var calls = 0
        #expect {
            try p.flush(timeout: .milliseconds(300)) { calls += 1 }
        } throws: { error in
            guard case KafkaError.timedOut = error else { return false }
            return true
        }
        #expect(calls >= 10)
        try broker.setBrokerUp(1)
        try p.flush(timeout: .seconds(30))
        #expect(p.counts.delivered == 2)
    }

    /// A commit answered after ~80 ms: the offsets are committed (the group reads them back) and
    /// the closure ran through the wait; a refused commit throws the broker's error, as the
    /// blocking commit does.
    @Test func commitStoresTheOffsetsWhileTheCallerWorks() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("commitwait")
        try broker.createTopic(topic, partitions: 2)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<20 { try p.send(to: t, partition: Int32(i % 2), key: nil, value: Array("\(i)".utf8)) }
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic])
        var got = 0
        try pollUntil([c], { _, _ in got += 1 }, done: { got >= 20 })
        let offsets = [TopicPartitionOffset(topic: topic, partition: 0, offset: 7),
                       TopicPartitionOffset(topic: topic, partition: 1, offset: 9)]
        try broker.delayNextResponse(broker: 1, apiKey: 8, milliseconds: 80)  // OffsetCommit
        var calls = 0
        let began = ContinuousClock().now
        try c.commit(offsets) { calls += 1 }
        let waited = ContinuousClock().now - began
        #expect(waited >= .milliseconds(80))
        #expect(calls >= 10, "the closure ran \(calls) times during a \(waited) commit")
        let committed = try c.committed([TopicPartition(topic: topic, partition: 0), TopicPartition(topic: topic, partition: 1)])
        #expect(Set(committed.map { "\($0.partition):\($0.offset)" }) == ["0:7", "1:9"])

        // A partition the broker does not have: the broker's error, as from the blocking commit.
        let missing = [TopicPartitionOffset(topic: uniqueName("missing"), partition: 0, offset: 1)]
        var blocking: KafkaError?
        do { try c.commit(missing) } catch { blocking = error }
        var waiting: KafkaError?
        do { try c.commit(missing) {} } catch { waiting = error }
        #expect(blocking != nil)
        #expect(waiting?.description == blocking?.description, "waiting: \(String(describing: waiting)), blocking: \(String(describing: blocking))")
        c.close()
    }
}
