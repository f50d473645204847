import Foundation
import Logging
import Testing
import WeirKafka
@testable import WeirRuntime

/// ``InstanceLease`` on the embedded broker: on the one-partition topic Weir creates, a member
/// that joins later gets nothing and the holder keeps the lease (it moves only when the holder
/// leaves); on a topic with more partitions (one the broker created on first use with its default
/// count) the holder reports the partitions it should not have, the hazard being that the
/// group's assignor balances them all and may move partition 0 on any join.
@Suite(.serialized) struct InstanceLeaseTests {
    static func lease(_ broker: EmbeddedBroker, topic: String) throws -> InstanceLease {
        try InstanceLease(client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "lease-test"),
                          group: "g.global-lease", topic: topic, sessionTimeoutMs: 6000, logger: Logger(label: "lease-test"))
    }

    /// Polls `leases` until `done` holds (true) or 30 s pass (false).
    static func poll(_ leases: [InstanceLease], until done: () -> Bool) throws -> Bool {
        let deadline = ContinuousClock().now + .seconds(30)
        while !done() {
            if ContinuousClock().now >= deadline { return false }
            for l in leases { try l.poll(timeout: .milliseconds(20)) }
        }
        return true
    }

    /// A broker whose lease topic has `partitions`, and a first member polled until it holds the lease.
    static func firstHolder(partitions: Int32) throws -> (EmbeddedBroker, InstanceLease) {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t.global.changelog", partitions: partitions)
        let a = try lease(broker, topic: "t.global.changelog")
        #expect(try poll([a]) { a.holds })
        return (broker, a)
    }

    @Test func aMemberThatJoinsLaterDoesNotTakeTheLeaseOfAOnePartitionTopic() throws {
        let (broker, a) = try Self.firstHolder(partitions: 1)
        defer { a.close() }
        let b = try Self.lease(broker, topic: "t.global.changelog")
        defer { b.close() }
        #expect(try Self.poll([a, b]) { b.joined })
        // A few more rounds: a cooperative rebalance that moved the lease would revoke it here.
        let settle = ContinuousClock().now + .seconds(3)
        _ = try Self.poll([a, b]) { ContinuousClock().now >= settle }
        #expect(a.holds && !a.revoked && !a.lost)
        #expect(!b.holds)
        #expect(a.extraPartitions.isEmpty && b.extraPartitions.isEmpty)
        // The holder leaves: the lease moves to the member that waited.
        a.close()
        #expect(try Self.poll([b]) { b.holds })
    }

    @Test func aLeaseTopicWithMorePartitionsIsReported() throws {
        let (broker, a) = try Self.firstHolder(partitions: 4)
        defer { a.close(); withExtendedLifetime(broker) {} }
        #expect(a.extraPartitions == [1, 2, 3])
    }
}
