import Foundation
import WeirCore
import Logging
import WeirKafka
import WeirTopology

/// Writes the checkpoints of a running topology in the order that makes them consistent:
///
/// at least once: flush outputs (every output of the covered input acknowledged) → commit the
/// group offsets (the broker's generation check fences a replaced member; restore uses the
/// checkpoint, these are for monitoring tools and rebalances) → check changelog ownership →
/// write the checkpoint (state + source offsets + epoch) → flush it. A periodic checkpoint
/// (`awaitDelivery: false`) does not wait for its own records: processing goes on while they
/// travel, and the next checkpoint's first flush (or ``awaitDelivery()``) confirms them before
/// anything else is committed, so an increment is never written on a base that was not
/// delivered, and a failed delivery stops the run there (restart: the last delivered checkpoint,
/// at least once);
///
/// exactly once: flush the transaction's outputs → check ownership → write the checkpoint into
/// the open transaction → send the
/// offsets to the transaction → commit it (outputs, checkpoint and offsets together) → commit the
/// group offsets as well (the embedded broker does not store transactional offsets) → begin the
/// next transaction. On any failure the transaction is aborted and the error rethrown: the
/// instance must stop and restart from the last committed checkpoint.
///
/// One coordinator per changelog: the single runner's, each partitioned task's, and the
/// partitioned global stage's (``Scope/globalStage(processed:)``: its part of the pipeline, no
/// group offsets).
public final class CheckpointCoordinator {
    /// What a checkpoint's state holds.
    public enum Scope: Sendable, Equatable {
        /// The whole pipeline (``Pipeline/checkpointState()``, ``Pipeline/checkpointIncrement(unchangedSince:)``).
        case pipeline
        /// The global stage's part and the `<name>.global` positions it processed
        /// (``Pipeline/globalStageState(processed:)``, ``Pipeline/globalStageIncrement(processed:unchangedSince:)``).
        case globalStage(processed: [Int64])
    }

    public let store: (any CheckpointStore)?
    public let guarantee: ProcessingSpec.Guarantee
    public let owner: String
    public let topology: String
    public let group: String
    public let sourceTopic: String
    /// The label topic (`model.label_topic`) read by the same consumer; "" when none.
    public let labelTopic: String
    let producer: KafkaProducer
    /// The source consumer (its group offsets are committed with each checkpoint).
    public var consumer: KafkaConsumer?
    /// Whether checkpoints commit the group offsets. Partitioned tasks do not: their offsets live
    /// in the changelog and fencing is the changelog's ownership check, while a commit that meets
    /// a rebalance of the group makes librdkafka 2.0.2 drop every partition of the consumer
    /// (confluentinc/librdkafka#4059): a join would restore every task instead of the moved ones.
    public var commitsGroupOffsets = true
    /// Whether a group commit refused for its generation or member id means this instance was
    /// replaced (``CheckpointError/groupFenced(_:)``). False when the consumer is not a group
    /// member (the single active instance assigns every partition itself and the lease fences it):
    /// such a refusal (e.g. another client is a member of the group) is logged, not fatal.
    public var groupCommitsFence = true
    /// Called on the checkpointing thread about every millisecond while a checkpoint waits for the
    /// broker (outputs acknowledged, group offsets committed), e.g. to answer serving requests from
    /// the pipeline, which a checkpoint does not change. nil: the waits block.
    public var whileWaiting: (() -> Void)?
    let logger: Logger
    /// The newest checkpoint written or restored (0: none).
    public private(set) var epoch: UInt64 = 0
    /// Sizes and durations of the checkpoints written, for benchmarks and logs.
    public private(set) var lastStateBytes = 0
    public private(set) var lastDuration: Duration = .zero
    public private(set) var written = 0
    /// Whether the last checkpoint written was an increment.
    public private(set) var lastWasIncrement = false
    /// A checkpoint written with `awaitDelivery: false` whose records are not yet confirmed
    /// delivered (confirmed by the next checkpoint or ``awaitDelivery()``); without its state.
    public private(set) var undelivered: Checkpoint?
    /// Full image or increment (``ChainPolicy``).
    var chain: ChainPolicy
    /// What the next increment builds on: the last checkpoint written or restored.
    var base = CheckpointBase()
    public var metrics: RuntimeMetrics? {
        didSet { if ownsTransaction { transaction?.metrics = metrics } }
    }
    /// Exactly once: the producer's transaction (nil: at least once).
    public let transaction: ProducerTransaction?
    /// Whether this coordinator begins, commits and aborts ``transaction`` itself; a shared one
    /// (a partitioned instance's tasks) is driven by its owner through ``stage(_:offsets:sink:)``
    /// and ``finish(_:_:sink:)``.
    public let ownsTransaction: Bool

    /// - Parameter sharedTransaction: exactly once, the transaction of a producer shared with
    ///   other coordinators, committed by the caller (nil: the coordinator has its own).
    public init(store: (any CheckpointStore)?, guarantee: ProcessingSpec.Guarantee, owner: String, topology: String, group: String = "",
                sourceTopic: String, labelTopic: String = "", fullEvery: Int, producer: KafkaProducer, logger: Logger,
                sharedTransaction: ProducerTransaction? = nil) {
        self.store = store
        if guarantee == .exactlyOnce {
            transaction = sharedTransaction ?? ProducerTransaction(producer: producer, logger: logger)
            ownsTransaction = sharedTransaction == nil
        } else {
            transaction = nil
            ownsTransaction = false
        }
        chain = ChainPolicy(fullEvery: fullEvery)
        self.guarantee = guarantee
        self.owner = owner
        self.topology = topology
        self.group = group
        self.sourceTopic = sourceTopic
        self.labelTopic = labelTopic
        self.producer = producer
        self.logger = logger
    }

    /// Reads the newest checkpoint and restores `pipeline` from it; returns its offsets. Label
    /// offsets of another label topic than ``labelTopic`` (the topology changed it), or of a
    /// version-1 checkpoint (none), come back empty: those partitions start from the group's
    /// committed offsets or the start policy.
    /// Reads the newest full image and the increments after it (``CheckpointStore/loadChain()``)
    /// and applies them in order.
    public func restore(into pipeline: inout Pipeline) throws -> Checkpoint? {
        guard let store else { return nil }
        try awaitDelivery()  // this instance's own checkpoint still in flight is part of what it reads
        let clock = ContinuousClock()
        let began = clock.now
        let loaded = try store.loadChain()
        let read = clock.now - began
        guard var c = loaded.last, let full = loaded.first else { return nil }
        guard c.sourceTopic == sourceTopic else {
            throw CheckpointError.damaged(what: "checkpoint in \(store.location)", detail: "it covers topic \(c.sourceTopic), the topology reads \(sourceTopic)")
        }
        try pipeline.restoreState(full.state)
        for inc in loaded.dropFirst() { try pipeline.applyIncrement(inc.state) }
        restored(loaded, pipeline)
        if c.labelTopic != labelTopic {
            if !c.labelOffsets.isEmpty {
                logger.warning("checkpoint covers label topic \(c.labelTopic), the topology reads \(labelTopic.isEmpty ? "none" : labelTopic); its label offsets are ignored")
            }
            c.labelTopic = labelTopic
            c.labelOffsets = []
        }
        // Idleness resumes where it stopped: the downtime is not silence of the sources.
        let delta = Int64(Date().timeIntervalSince1970 * 1000) - c.wallTimeMs
        if c.wallTimeMs > 0 && delta > 0 { pipeline.shiftWallClock(by: delta) }
        let labels = labelTopic.isEmpty ? "" : "; label offsets \(c.labelOffsets.map { "\($0.partition)@\($0.offset)" }.joined(separator: ","))"
        let increments = loaded.count > 1 ? " + \(loaded.count - 1) increments to epoch \(c.epoch) (\(loaded.dropFirst().reduce(0) { $0 + $1.state.count }) bytes)" : ""
        let seconds = { (d: Duration) in String(format: "%.3f", d / .seconds(1)) }
        logger.info("restored checkpoint epoch \(full.epoch) (\(full.state.count) bytes, by \(c.owner))\(increments) from \(store.location); offsets \(c.offsets.map { "\($0.partition)@\($0.offset)" }.joined(separator: ","))\(labels); took \(seconds(clock.now - began)) s (\(seconds(read)) s reading \(store.lastReadSummary ?? "it"))")
        return c
    }

    /// `pipeline` was just restored from `loaded` (a chain read from ``store``: the full image,
    /// then its increments; not empty) by its owner: the newest is this coordinator's epoch and
    /// the pipeline the base of the next increment.
    func restored(_ loaded: [Checkpoint], _ pipeline: Pipeline) {
        guard let last = loaded.last, let full = loaded.first else { return }
        base.mark(pipeline)
        chain.restored(fullBytes: full.state.count, incrementBytes: loaded.dropFirst().map(\.state.count))
        epoch = last.epoch
    }

    /// Exactly once: opens the first transaction.
    public func start() throws {
        if ownsTransaction { try transaction?.begin() }
    }

    /// Waits until every record sent is acknowledged (at most 60 s), then throws the producer's
    /// fatal error (e.g. fenced), else when records were not delivered. Confirms a checkpoint
    /// written without awaiting its delivery (``undelivered``): the store then knows its records.
    func flushDelivered() throws {
        try Self.flushDelivered(producer, what: undelivered == nil ? "output records" : "output or checkpoint records", whileWaiting: whileWaiting)
        if let c = undelivered {
            undelivered = nil
            try store?.saved(c)
        }
    }

    /// Waits for the records of a checkpoint written with `awaitDelivery: false` (and every
    /// output before them); throws as ``checkpoint(_:offsets:labelOffsets:sink:revoking:awaitDelivery:)``
    /// does when some were not delivered. Call before the partitions or the lease move, and
    /// before a stop. Nothing to do when no checkpoint waits.
    public func awaitDelivery() throws {
        guard undelivered != nil else { return }
        try flushDelivered()
    }

    /// Flushes `producer` and checks that every record was delivered; `whileWaiting`: see
    /// ``whileWaiting``.
    static func flushDelivered(_ producer: KafkaProducer, what: String = "output records", whileWaiting: (() -> Void)? = nil) throws {
        try producer.flush(timeout: .seconds(60), whileWaiting: whileWaiting)
        if let fatal = producer.fatalError { throw fatal }
        if producer.counts.failed > 0 {
            throw KafkaError.invalidState("\(producer.counts.failed) \(what) were not delivered (last error \(String(describing: producer.counts.lastError))); not committing")
        }
    }

    /// Writes one checkpoint covering `offsets` (next offset per source partition) and
    /// `labelOffsets` (next offset per label-topic partition) and commits both to the group.
    /// - Parameter sink: its epoch and record count go into the checkpoint; it starts the next epoch.
    /// - Parameter revoking: called from a revocation: the group's generation may already have moved
    ///   on (a rebalance is in progress), so a refused group commit is not taken as fencing.
    /// - Parameter awaitDelivery: at least once, false: return once the checkpoint's records are
    ///   sent; the next checkpoint (or ``awaitDelivery()``) confirms them (exactly once the
    ///   transaction's commit always waits).
    /// - Parameters scope, owning: see ``stage(_:offsets:labelOffsets:sink:scope:owning:)``.
    public func checkpoint(_ pipeline: Pipeline, offsets: [Int32: Int64], labelOffsets: [Int32: Int64] = [:], sink: inout KafkaSink,
                           revoking: Bool = false, awaitDelivery: Bool = true, scope: Scope = .pipeline, owning: Set<Int32>? = nil) throws {
        precondition(transaction == nil || ownsTransaction, "a shared transaction is committed by its owner (stage, commit, finish)")
        let clock = ContinuousClock()
        let began = clock.now
        let tpos = topicPartitionOffsets(offsets, labelOffsets)
        guard store != nil else {
            try flushDelivered()
            if !tpos.isEmpty { try commitGroupOffsets(tpos, fencing: !revoking) }
            return
        }
        do {
            // Outputs first, acknowledged: a checkpoint record is never visible before the outputs
            // it covers (exactly once this also holds on brokers that do not enforce transactions).
            try flushDelivered()
            if transaction == nil && !tpos.isEmpty {
                // The group offsets first: the broker checks the group generation, so a member that
                // was replaced (e.g. paused past its session timeout) is refused here, before it
                // can write a checkpoint. A restart restores the checkpoint, not these offsets.
                try commitGroupOffsets(tpos, fencing: !revoking)
            }
            let staged = try stage(pipeline, offsets: offsets, labelOffsets: labelOffsets, sink: sink, scope: scope, owning: owning)
            if let transaction {
                try transaction.commit(tpos, consumer: consumer)
            } else if awaitDelivery {
                try flushDelivered()
            }
            try finish(staged, pipeline, sink: &sink, delivered: transaction != nil || awaitDelivery)
            if transaction != nil && !tpos.isEmpty {
                // Also outside the transaction: the embedded broker does not store transactional offsets.
                try commitGroupOffsets(tpos, fencing: false)
            }
            try transaction?.begin()
            lastDuration = clock.now - began
            logger.debug("checkpoint epoch \(staged.checkpoint.epoch)\(staged.increment ? " (increment on \(staged.checkpoint.epoch - 1))" : ""): \(staged.checkpoint.state.count) state bytes, \(tpos.count) partitions, \(lastDuration)")
        } catch {
            abort()
            throw error
        }
    }

    /// A checkpoint written to the store but not yet durable (at least once: not flushed;
    /// exactly once: in the open transaction, not committed): ``finish(_:_:sink:)`` completes it.
    public struct Staged {
        public let checkpoint: Checkpoint
        public let increment: Bool
        /// The source and label offsets it covers, for the transaction or the group.
        public let offsets: [TopicPartitionOffset]
    }

    /// Checks changelog ownership, then writes the checkpoint of `pipeline` covering `offsets`
    /// (a full image or an increment, as ``ChainPolicy`` decides) into the store. The caller has
    /// flushed the outputs it covers; it makes the records durable (flush or commit), then calls
    /// ``finish(_:_:sink:)``. Requires a store.
    /// - Parameter scope: what the state holds.
    /// - Parameter owning: the partitions whose checkpoint by another owner fences this one
    ///   (nil: those of `offsets`).
    public func stage(_ pipeline: Pipeline, offsets: [Int32: Int64], labelOffsets: [Int32: Int64] = [:], sink: KafkaSink,
                      scope: Scope = .pipeline, owning: Set<Int32>? = nil) throws -> Staged {
        guard let store else { throw CheckpointError.io("no checkpoint store to stage a checkpoint in") }
        try store.checkOwnership(owner: owner, epoch: epoch, partitions: owning ?? Set(offsets.keys))
        let increment = chain.nextIsIncrement(hasBase: epoch > 0 && base.holds(pipeline))
        let state: [UInt8]
        let capacity = chain.expectedBytes(increment: increment)
        switch scope {
        case .pipeline:
            state = increment ? pipeline.checkpointIncrement(unchangedSince: base.references, capacity: capacity)
                              : pipeline.checkpointState(capacity: capacity)
        case .globalStage(let processed):
            state = increment ? pipeline.globalStageIncrement(processed: processed, unchangedSince: base.references, capacity: capacity)
                              : pipeline.globalStageState(processed: processed, capacity: capacity)
        }
        let c = Checkpoint(topology: topology, group: group, epoch: sink.epoch, owner: owner, sourceTopic: sourceTopic,
                           offsets: offsets.map { Checkpoint.SourceOffset(partition: $0.key, offset: $0.value) },
                           labelTopic: labelTopic, labelOffsets: labelOffsets.map { Checkpoint.SourceOffset(partition: $0.key, offset: $0.value) },
                           outputRecords: sink.written, wallTimeMs: Int64(Date().timeIntervalSince1970 * 1000), state: state,
                           base: increment ? epoch : nil)
        try store.save(c)
        return Staged(checkpoint: c, increment: increment, offsets: topicPartitionOffsets(offsets, labelOffsets))
    }

    /// After the staged checkpoint's records are durable (or, `delivered: false`, sent and
    /// confirmed by the next ``flushDelivered()``): it becomes the base of the next increment,
    /// and `sink` starts the next epoch.
    public func finish(_ staged: Staged, _ pipeline: Pipeline, sink: inout KafkaSink, delivered: Bool = true) throws {
        if delivered {
            try store?.saved(staged.checkpoint)
        } else {
            var c = staged.checkpoint
            c.state = []  // the store confirms the commit, not the state (tens of MB at 1M keys)
            undelivered = c
        }
        epoch = staged.checkpoint.epoch
        lastStateBytes = staged.checkpoint.state.count
        written += 1
        lastWasIncrement = staged.increment
        chain.wrote(bytes: staged.checkpoint.state.count, increment: staged.increment)
        base.mark(pipeline)
        sink.begin(epoch: epoch + 1)
    }

    func topicPartitionOffsets(_ offsets: [Int32: Int64], _ labelOffsets: [Int32: Int64]) -> [TopicPartitionOffset] {
        offsets.map { TopicPartitionOffset(topic: sourceTopic, partition: $0.key, offset: $0.value) }
            + labelOffsets.map { TopicPartitionOffset(topic: labelTopic, partition: $0.key, offset: $0.value) }
    }

    /// Commits group offsets. Fencing: a refused generation or member id means this instance was
    /// replaced (``CheckpointError/groupFenced(_:)``); other failures (e.g. a rebalance in
    /// progress) are logged: the checkpoint, not the group offsets, is what a restart restores.
    func commitGroupOffsets(_ tpos: [TopicPartitionOffset], fencing: Bool) throws {
        guard let consumer, commitsGroupOffsets else { return }
        do {
            try consumer.commit(tpos, whileWaiting: whileWaiting)
            metrics?.offsetsCommitted()
        } catch {
            let message = error.description
            if fencing && groupCommitsFence && Self.isFencing(error) { throw CheckpointError.groupFenced(message) }
            logger.warning("group offset commit failed: \(message)")
        }
    }

    /// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID.
    static func isFencing(_ e: KafkaError) -> Bool {
        guard case .broker(let code, _, _, _, _) = e else { return false }
        return code.rawValue == 22 || code.rawValue == 25 || code.rawValue == 82
    }

    /// Exactly once: aborts the open transaction (its outputs are discarded on real clusters).
    /// A shared transaction is left to its owner.
    public func abort() {
        if ownsTransaction { transaction?.abort() }
    }

    /// A run id for checkpoint ownership and transaction headers: host, process id and start time.
    public static func defaultOwner() -> String {
        "\(hostName())-\(getpid())-\(Int64(Date().timeIntervalSince1970 * 1000))"
    }

    /// This machine's host name (`gethostname`).
    public static func hostName() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
