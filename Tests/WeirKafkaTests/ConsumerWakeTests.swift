import Foundation
import Testing
@testable import WeirKafka

/// ``KafkaConsumer/wake()`` (`rd_kafka_queue_yield` on the fetch queue): what lets a serving
/// request end the run loop's wait for input instead of waiting out the poll's timeout.
/// Timeouts are long (20 s) and the bounds generous: the test checks that the wake happens, not
/// how fast.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ConsumerWakeTests {
    static func idleConsumer(_ broker: EmbeddedBroker) throws -> KafkaConsumer {
        let topic = uniqueName("wake")
        try broker.createTopic(topic, partitions: 1)
        let c = try consumer(broker, group: uniqueName("g"), reset: .latest)
        try c.subscribe([topic])
        // Settle: assigned, and the assignment's own queue events (barriers) served.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(30)
        while try c.assignment().isEmpty && clock.now < end { try c.poll(timeout: .milliseconds(50)) { _ in } }
        #expect(try !c.assignment().isEmpty)
        for _ in 0..<5 { try c.poll(timeout: .milliseconds(100)) { _ in } }
        return c
    }

    /// Seconds `poll(timeout:)` took, with the messages it delivered (none: the topic is empty).
    static func timedPoll(_ c: KafkaConsumer, timeout: Duration) throws -> (seconds: Double, delivered: Int) {
        let clock = ContinuousClock()
        let began = clock.now
        let n = try c.poll(timeout: timeout) { _ in }
        return ((clock.now - began) / .seconds(1), n)
    }

    @Test func wakeFromAnotherThreadEndsAWaitingPoll() throws {
        let broker = try EmbeddedBroker()
        let c = try Self.idleConsumer(broker)
        defer { c.close() }
        // Not woken: the poll waits its timeout (the control: an idle poll does block).
        let unwoken = try Self.timedPoll(c, timeout: .milliseconds(300))
        #expect(unwoken.delivered == 0 && unwoken.seconds >= 0.25)
        // Woken 100 ms into a 20 s wait, from another thread: it returns long before the timeout.
        let waker = Thread { Thread.sleep(forTimeInterval: 0.1); c.wake() }
        waker.start()
        let woken = try Self.timedPoll(c, timeout: .seconds(20))
        #expect(woken.delivered == 0 && woken.seconds < 10, "poll returned after \(woken.seconds) s")
    }

    /// A wake while no poll waits is kept: the next poll returns at once, and only that one.
    @Test func aWakeBeforeThePollEndsTheNextPollOnly() throws {
        let broker = try EmbeddedBroker()
        let c = try Self.idleConsumer(broker)
        defer { c.close() }
        c.wake()
        let next = try Self.timedPoll(c, timeout: .seconds(20))
        #expect(next.seconds < 10, "poll returned after \(next.seconds) s")
        let after = try Self.timedPoll(c, timeout: .milliseconds(300))
        #expect(after.seconds >= 0.25)
    }
}
