import Foundation
import Testing
import WeirTestSupport
@testable import WeirKafka

/// A consumer that assigns its partitions itself (``KafkaConsumer/assign(_:)``, as `weir run`'s
/// active instance does for every source partition, and the global stage for its input): no
/// group membership (rebalance protocol NONE), but a group id for its committed offsets.
@Suite(.timeLimit(.minutes(2)))
struct ApplicationAssignmentTests {
    /// Four partitions assigned at their committed offsets in a group that has none: each one's
    /// offset reset (Weir resolves resets itself, `auto.offset.reset` is `error`) restarts that
    /// partition alone. Restarting the whole assignment instead (the eager-protocol path) put the
    /// partitions that had not started yet back at no position, which reset again and restarted
    /// the others: records were read many times over (35,000 events for 20,000 in `weir run`).
    @Test func eachRecordIsReadOnceWhenPartitionsStartAtTheirCommittedOffsets() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let topic = try filledTopic(broker, "assigned", partitions: 4, count: 2_000)

        let c = try consumer(broker, group: uniqueName("g"))
        try c.assignStarting((0..<4).map { TopicPartition(topic: topic, partition: $0) })
        var seen: [String: Int] = [:]
        var count = 0
        try pollUntil([c]) { _, m in
            count += 1
            seen["\(m.partition)@\(m.offset)", default: 0] += 1
        } done: { count >= 2_000 }
        // Anything read twice would arrive right behind: poll on for a while.
        let until = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < until { try c.poll(timeout: .milliseconds(50)) { m in count += 1; seen["\(m.partition)@\(m.offset)", default: 0] += 1 } }
        #expect(count == 2_000, "\(count) records read for 2,000")
        #expect(seen.count == 2_000 && seen.values.allSatisfy { $0 == 1 })

        // Its commits go to the group without membership.
        try c.commit((0..<4).map { TopicPartitionOffset(topic: topic, partition: $0, offset: 500) })
        #expect(try c.committed((0..<4).map { TopicPartition(topic: topic, partition: $0) }).map(\.offset) == [500, 500, 500, 500])

        // Closing has no group to leave: it does not wait for an assignment that unsubscribing
        // never ends (before: the whole 10 s leave timeout, with a warning).
        let began = ContinuousClock.now
        c.close(leaveTimeout: .seconds(20))
        #expect(ContinuousClock.now - began < .seconds(10), "close took \(ContinuousClock.now - began)")
    }

    /// Start offsets given with ``KafkaConsumer/setStartOffsets(_:)`` are where the assigned
    /// partitions start; the others start at the committed offset.
    @Test func startOffsetsApplyToAnApplicationAssignment() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let topic = try filledTopic(broker, "starts", partitions: 2, count: 200)
        let group = uniqueName("g")
        do {
            let committer = try consumer(broker, group: group)
            try committer.assign([TopicPartitionOffset(topic: topic, partition: 1, offset: TopicPartitionOffset.beginning)])
            try committer.commit([TopicPartitionOffset(topic: topic, partition: 1, offset: 30)])
            committer.close()
        }
        let c = try consumer(broker, group: group)
        defer { c.close() }
        c.setStartOffsets([TopicPartitionOffset(topic: topic, partition: 0, offset: 60)])
        try c.assignStarting([TopicPartition(topic: topic, partition: 0), TopicPartition(topic: topic, partition: 1)])
        var first: [Int32: Int64] = [:]
        var count = 0
        try pollUntil([c]) { _, m in
            if first[m.partition] == nil { first[m.partition] = m.offset }
            count += 1
        } done: { count >= 110 }
        #expect(first == [0: 60, 1: 30])
        #expect(count == 110)
    }
}
