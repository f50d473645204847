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
        // `earliest`, not `latest`: the topic is empty, so both start at 0 once the offset is
        // known; but on a loaded machine the lookup of `latest` could complete after the resume
        // test has produced, start past its messages and leave it waiting (CI, 2026-12-07).
        let c = try consumer(broker, group: uniqueName("g"), reset: .earliest)
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
    /// Resuming paused partitions asks the fetch waker to restart the fetchers: librdkafka 2.0.2
    /// re-decides a resumed partition's fetch on its broker thread's next wake-up, up to its 1 s
    /// timer later, so a partitioned run whose flow control paused and resumed its tasks ran in
    /// ~1.1 s cycles (ScaleBench, benchmarks/RESULTS.md 2026-12-06). The messages produced while
    /// the partition was paused arrive after the resume.
    @Test func resumeWakesTheFetchers() throws {
        let broker = try EmbeddedBroker()
        let c = try Self.idleConsumer(broker)
        defer { c.close() }
        let assigned = try c.assignment()
        try c.pause(assigned)
        let p = try producer(broker)
        defer { p.close() }
        let topic = try p.topic(assigned[0].topic)
        for i in 0..<10 { try p.send(to: topic, partition: assigned[0].partition, key: nil as [UInt8]?, value: Array("m\(i)".utf8)) }
        try p.flush()
        for _ in 0..<3 { #expect(try c.poll(timeout: .milliseconds(100)) { _ in } == 0) }  // paused: nothing
        let before = c.fetchWakeUps
        try c.resume(assigned)
        #expect(c.fetchWakeUps == before + 1)
        var received: [String] = []
        try pollUntil([c], deadline: .seconds(30), { _, m in received.append(m.value.map { String(decoding: $0, as: UTF8.self) } ?? "") },
                      done: { received.count >= 10 })
        #expect(received == (0..<10).map { "m\($0)" })
    }
}
