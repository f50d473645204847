import Foundation
import Testing
import WeirKafka
@testable import WeirRuntime

/// Per-partition fencing of partitioned tasks (docs/scaling.md): task `p` checkpoints to
/// partition `p` of `<name>.changelog`; a newer checkpoint of `p` by another owner fences the old
/// owner of `p` (its next checkpoint is refused), and only it: checkpoints of other partitions,
/// by anyone, fence no one.
struct PartitionedChangelogFencingTests {
    static func checkpoint(_ owner: String, epoch: UInt64, partition: Int32) -> Checkpoint {
        Checkpoint(topology: "t", group: "g", epoch: epoch, owner: owner, sourceTopic: "in",
                   offsets: [.init(partition: partition, offset: Int64(100 * epoch))], outputRecords: 0, wallTimeMs: 0,
                   state: [UInt8](repeating: UInt8(epoch), count: 64))
    }

    /// What `store`'s ownership check throws for `owner` at `epoch` (nil: it passes).
    static func refusal(_ store: KafkaChangelogStore, owner: String, epoch: UInt64, partitions: Set<Int32>) -> CheckpointError? {
        do {
            try store.checkOwnership(owner: owner, epoch: epoch, partitions: partitions)
            return nil
        } catch let e as CheckpointError {
            return e
        } catch {
            return .io("\(error)")
        }
    }

    @Test func aNewerOwnerOfAPartitionFencesOnlyThatPartitionsOldOwner() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t.changelog", partitions: 2)
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "fencing")
        let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
        func store(_ p: Int32) throws -> KafkaChangelogStore {
            try KafkaChangelogStore(topology: "t", group: "g", producer: producer, client: client, partition: p)
        }
        func write(_ s: KafkaChangelogStore, _ c: Checkpoint) throws {
            try s.save(c)
            try producer.flush(timeout: .seconds(10))
            try s.saved(c)
        }
        // The zombie "a" holds partitions 0 and 1; "b" takes partition 1 over (restores a's
        // checkpoint, writes its own).
        let a0 = try store(0), a1 = try store(1)
        _ = try a0.load()
        _ = try a1.load()
        try write(a0, Self.checkpoint("a", epoch: 1, partition: 0))
        try write(a1, Self.checkpoint("a", epoch: 1, partition: 1))
        let b1 = try store(1)
        #expect(try b1.load()?.owner == "a")
        try write(b1, Self.checkpoint("b", epoch: 2, partition: 1))
        // a, resumed, is fenced on partition 1 (naming b) and not on partition 0.
        #expect(Self.refusal(a1, owner: "a", epoch: 1, partitions: [1]) == .fenced(topology: "t", ownEpoch: 1, newerOwner: "b", newerEpoch: 2))
        try a0.checkOwnership(owner: "a", epoch: 1, partitions: [0])
        try write(a0, Self.checkpoint("a", epoch: 2, partition: 0))
        // b's own checks pass; a restart of partition 1 restores b's state, of partition 0 a's.
        try b1.checkOwnership(owner: "b", epoch: 2, partitions: [1])
        #expect(try store(1).load() == Self.checkpoint("b", epoch: 2, partition: 1))
        #expect(try store(0).load() == Self.checkpoint("a", epoch: 2, partition: 0))
    }

    /// An old owner's write delivered late (its process paused with the records queued in its
    /// producer, resumed after the hand-over) is at an epoch the new owner already passed: it
    /// fences no one. A write ahead of the new owner's epoch (the old owner still running) does.
    @Test func aLateWriteOfAnOldOwnerAtAnEpochAlreadyPassedFencesNoOne() throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t.changelog", partitions: 1)
        let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "fencing")
        let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
        func store() throws -> KafkaChangelogStore { try KafkaChangelogStore(topology: "t", group: "g", producer: producer, client: client, partition: 0) }
        func write(_ s: KafkaChangelogStore, _ c: Checkpoint) throws {
            try s.save(c)
            try producer.flush(timeout: .seconds(10))
            try s.saved(c)
        }
        let z = try store()
        _ = try z.load()
        try write(z, Self.checkpoint("z", epoch: 1, partition: 0))
        try write(z, Self.checkpoint("z", epoch: 2, partition: 0))
        // r restores epoch 2 and claims (epoch 3), then writes epoch 4.
        let r = try store()
        #expect(try r.load()?.epoch == 2)
        try r.checkOwnership(owner: "r", epoch: 2, partitions: [0])
        try write(r, Self.checkpoint("r", epoch: 3, partition: 0))
        try write(r, Self.checkpoint("r", epoch: 4, partition: 0))
        // z's epoch 3, queued before its pause, arrives now: r (at 4) is not fenced.
        try write(z, Self.checkpoint("z", epoch: 3, partition: 0))
        try r.checkOwnership(owner: "r", epoch: 4, partitions: [0])
        try write(r, Self.checkpoint("r", epoch: 5, partition: 0))
        // z, at its epoch 3, is fenced by r's newer epochs, naming the newest.
        #expect(Self.refusal(z, owner: "z", epoch: 3, partitions: [0]) == .fenced(topology: "t", ownEpoch: 3, newerOwner: "r", newerEpoch: 5))
        // A write ahead of r's epoch (z kept running and wrote past it) fences r.
        try write(z, Self.checkpoint("z", epoch: 9, partition: 0))
        #expect(Self.refusal(r, owner: "r", epoch: 5, partitions: [0]) == .fenced(topology: "t", ownEpoch: 5, newerOwner: "z", newerEpoch: 9))
    }
}
