import Logging
import WeirKafka

/// Which instance of a topology (in one consumer group) is the active one.
///
/// A Weir topology has global state (the model learns from every event, drift windows count
/// events across all partitions, global windows), so exactly one instance processes the source
/// at a time and the others stand by. The lease is partition 0 of the topology's changelog
/// topic, assigned by Kafka's group protocol in the group `<group>.lease`: the member that holds
/// it is active; a member that joins later gets nothing (the `cooperative-sticky` assignor keeps
/// the partition where it is) and waits. When the active instance leaves (graceful stop: final
/// checkpoint first, then the lease group) or its session times out (crash, pause, network), the
/// group hands the lease to a standby, which restores the newest checkpoint and assigns itself
/// every source partition (it joins no source group: the lease is what makes it their only
/// reader, and a second group join would wait the broker's initial rebalance delay again). The
/// lease consumer never reads: its partition is
/// paused as soon as it is assigned.
///
/// Invariants: ``holds`` is true only between an assignment of partition 0 and its revocation
/// or loss; ``lost`` is set when the group took the lease without a revocation (this member
/// missed its session timeout) and stays set until the lease is acquired again.
/// Cost: one group membership (heartbeats on librdkafka's threads) and one non-blocking poll per
/// call of ``poll(timeout:)``.
final class InstanceLease {
    let topic: String
    let group: String
    private let consumer: KafkaConsumer
    private let logger: Logger
    /// True while this instance holds the lease.
    private(set) var holds = false
    /// The lease was taken away without a revocation since it was last acquired.
    private(set) var lost = false
    /// The lease was revoked (handed over in a rebalance) since it was last acquired.
    private(set) var revoked = false
    /// This member has received an assignment of the lease group (librdkafka calls the rebalance
    /// callback with every new assignment, even an empty one): from then on ``holds`` says
    /// whether this instance or another holds the lease, not only that the group is still forming.
    private(set) var joined = false
    /// Called inside the revocation, before the lease moves: the active instance checkpoints
    /// there, so the next holder restores everything this one processed.
    var onRevoke: (() -> Void)?
    private var pausePending = false
    /// The partitions other than 0 of the lease topic this member was first assigned: none with
    /// the one-partition topic Weir creates. A topic with more (created by the broker on first
    /// use with its default count) still has one holder of partition 0, but the group's assignor
    /// balances every partition, so the lease, and with it the global stage, can move whenever an
    /// instance joins or leaves. Logged once, as a warning naming the fix.
    private(set) var extraPartitions: [Int32] = []

    init(client: KafkaConfiguration, group: String, topic: String, sessionTimeoutMs: Int, logger: Logger) throws {
        self.topic = topic
        self.group = group
        self.logger = logger
        consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: client, groupID: group, offsetReset: .latest, isolation: .readUncommitted,
            reportEndOfPartition: false, sessionTimeoutMs: sessionTimeoutMs))
        consumer.onRebalance = { [unowned self] event in
            switch event {
            case .assigned(let ps):
                self.joined = true
                let extra = ps.map(\.partition).filter { $0 != 0 }.sorted()
                if !extra.isEmpty && self.extraPartitions.isEmpty {
                    self.extraPartitions = extra
                    logger.warning("lease topic \(topic) has more than one partition (this instance was assigned partitions \(extra.map(String.init).joined(separator: ", "))): the lease is its partition 0, but group \(group) balances every partition, so the lease (and the state restored with it) can move whenever an instance joins or leaves; with a 1-partition topic it stays until its holder leaves (on the embedded broker: weir broker --topic \(topic):1)")
                }
                guard ps.contains(where: { $0.partition == 0 }) else { return }
                // Start at the end: nothing is read before the partition is paused.
                self.consumer.setStartOffsets([TopicPartitionOffset(topic: topic, partition: 0, offset: TopicPartitionOffset.end)])
                self.holds = true
                self.lost = false
                self.revoked = false
                self.pausePending = true
            case .revoked(let ps):
                guard ps.contains(where: { $0.partition == 0 }), self.holds else { return }
                self.onRevoke?()
                self.holds = false
                self.revoked = true
            case .lost(let ps):
                guard ps.contains(where: { $0.partition == 0 }), self.holds else { return }
                self.holds = false
                self.lost = true
            }
        }
        try consumer.subscribe([topic])
    }

    /// Serves the lease group's rebalances (the handlers above run here). Discards anything read.
    func poll(timeout: Duration = .zero) throws {
        try consumer.poll(timeout: timeout) { _ in }
        if pausePending && holds {
            pausePending = false
            try? consumer.pause([TopicPartition(topic: topic, partition: 0)])
        }
    }

    /// Polls until this instance holds the lease (true) or `stop()` says to give up (false),
    /// calling `whileWaiting` about once a second meanwhile (its error ends the wait).
    func acquire(stop: () -> Bool, whileWaiting: () throws -> Void = {}) throws -> Bool {
        var waiting = false
        let clock = ContinuousClock()
        var lastTick = clock.now
        while !holds {
            if stop() { return false }
            try poll(timeout: .milliseconds(100))
            if clock.now - lastTick >= .seconds(1) {
                lastTick = clock.now
                try whileWaiting()
            }
            if !holds && !waiting {
                waiting = true
                logger.info("standby: waiting for the lease (partition 0 of \(topic) in group \(group)); another instance is active or the group is forming")
            }
        }
        if waiting { logger.notice("lease acquired: this instance is now active") }
        return true
    }

    /// Leaves the lease group (the next standby takes over).
    func close() {
        consumer.onRebalance = nil
        consumer.close()
    }
}
