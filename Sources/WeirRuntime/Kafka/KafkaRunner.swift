import Foundation
import Logging
import WeirCore
import WeirKafka
import WeirTopology

/// Progress of a running topology, reported to a callback about once a second.
public struct RunProgress: Sendable {
    /// Since the runner started (includes connecting and joining the group).
    public var seconds: Double
    /// Since the first input message arrived (the peers' throughput clock: first event in →
    /// last output flushed); 0 before any input.
    public var activeSeconds: Double
    public var events: Int
    public var counters: PipelineCounters
    public var logLoss: Double?
    public var accuracy: Double?
    /// The model's prequential metrics, as ``ModelStage/metricsSummary``.
    public var modelSummary: String?
    /// Checkpoints written so far and the newest epoch.
    public var checkpoints = 0
    public var epoch: UInt64 = 0
}

/// `weir run`: Kafka source → ``Pipeline`` → Kafka sinks, with checkpoints (see
/// `docs/fault-tolerance.md`).
///
/// With `model.label_topic` the same consumer (same group) also reads the label topic; events
/// and labels go to the pipeline (``Pipeline/process(_:topic:now:into:)``,
/// ``Pipeline/processLabels(_:topic:into:)``) in Kafka-timestamp order across both topics
/// (``TimestampMerge``: a label produced after its event finds it scored, whatever order the
/// topics were fetched in), and checkpoints and group commits cover the offsets of both topics.
///
/// Every checkpoint interval, on partition revocation and at shutdown, a
/// ``CheckpointCoordinator`` writes the pipeline's state with the source offsets it covers, after
/// the outputs they caused are acknowledged (at least once) or in one transaction with them
/// (exactly once), then commits the group offsets. On start the newest checkpoint is restored
/// and the source partitions resume from its offsets. Without checkpoints (`checkpoints: .none`)
/// only group offsets are committed, after the outputs are acknowledged. Output topics (and the
/// changelog) are created when missing (models and changelog compacted on real clusters).
public struct KafkaRunner {
    /// Where checkpoints are kept.
    public enum CheckpointLocation: Sendable, Equatable {
        /// The changelog topic `<topology>.changelog` on the same cluster (the default).
        case kafka
        /// Files in a local directory (exactly-once needs `.kafka`).
        case directory(String)
        /// No checkpoints: state starts empty on every start; only group offsets are committed.
        case none
    }

    public struct Options: Sendable {
        public var brokers: String
        public var groupID: String
        public var from: OffsetResetPolicy = .earliest
        /// Exit once every assigned partition is read to its end and outputs are flushed.
        public var stopAtEnd = false
        /// Offset commit interval when checkpoints are off.
        public var commitInterval: Duration = .seconds(1)
        public var properties: [String: String] = [:]
        /// Stop after this long (nil: run until stopped).
        public var maxDuration: Duration?
        public var checkpoints: CheckpointLocation = .kafka
        /// Overrides the topology's `processing.guarantee`.
        public var guarantee: ProcessingSpec.Guarantee?
        /// Overrides the topology's `processing.checkpoint_interval_ms`.
        public var checkpointInterval: Duration?
        /// This process's name in checkpoints and transactions (default: host, pid and start time).
        public var instanceID: String?
        /// Overrides the topology's `source.order`.
        public var order: SourceOrder?
        /// Consumer `session.timeout.ms` (how soon a stopped member loses its partitions).
        public var sessionTimeoutMs = 10_000
        /// Partitioned mode (`docs/scaling.md`): instances split the source partitions and one
        /// runs the global stage (``PartitionedRunner``). Every instance of a group must agree.
        public var partitioned = false
        /// Partitioned mode: how often at most the global stage broadcasts the champion's weights
        /// (when it learned or processed since), and how far (in source offsets) a task may run
        /// ahead of what the global stage had processed of its partition when it took the newest
        /// weights before the task pauses its partition: the staleness bound in events (`docs/scaling.md`).
        public var weightsInterval: Duration = .milliseconds(100)
        public var weightsMaxLead: Int64 = 8192
        /// Label topic: most records held per partition for the timestamp merge of the source and
        /// label topics, and longest hold (wall clock) before one goes anyway (``TimestampMerge``).
        public var labelHoldCapacity = 65_536
        public var labelMaxHold: Duration = .seconds(30)
        /// Label topic: how often at most the end of idle partitions is confirmed with a
        /// high-watermark query before held records pass them (the merge's latency at the live edge).
        public var labelEndCheckInterval: Duration = .milliseconds(100)
        public init(brokers: String, groupID: String) {
            self.brokers = brokers
            self.groupID = groupID
        }
    }

    public var options: Options
    public var logger: Logger
    public var embedded: EmbeddedBroker?
    public var onProgress: ((RunProgress) -> Void)?
    /// Shown every alert, retrain request and model decision record as it is produced.
    public var onOutput: ((OutputKind, UnsafeRawBufferPointer) -> Void)?
    /// Set to true (from another thread) to stop gracefully.
    public var shouldStop: @Sendable () -> Bool = { false }
    // [ops] Metrics (nil: none) and readiness status (read by /readyz), updated per batch/rebalance.
    public var metrics: RuntimeMetrics?
    public var status: RuntimeStatus?
    /// [serving] Serving requests (`GET /v1/features/{key}`, `POST /v1/score`), answered between batches.
    public var serving: ServingMailbox?

    public init(options: Options, logger: Logger = Logger(label: "weir.run"), embedded: EmbeddedBroker? = nil) {
        self.options = options
        self.logger = logger
        self.embedded = embedded
    }

    /// Runs until stopped (or, with `stopAtEnd`, until the input is consumed). Returns the pipeline.
    /// - Throws: ``CheckpointError/fenced(topology:ownEpoch:newerOwner:newerEpoch:)`` when another
    ///   instance took over; ``KafkaError`` for fatal client errors (fenced producer, data loss,
    ///   undeliverable outputs); ``CheckpointRestoreError`` when the checkpoint does not fit.
    public func run(_ compiled: CompiledTopology) throws -> Pipeline {
        if options.partitioned { return try PartitionedRunner(runner: self, topology: compiled.spec.name).run(compiled) }
        let setup = try prepare(compiled)
        let owner = options.instanceID ?? CheckpointCoordinator.defaultOwner()
        let clock = ContinuousClock()
        let deadline = options.maxDuration.map { clock.now + $0 }
        // Without checkpoints in Kafka there is no state to hand over: every instance processes the
        // partitions the group gives it.
        guard options.checkpoints == .kafka else {
            return try runActive(compiled, setup, owner: owner, lease: nil, deadline: deadline).pipeline
        }
        // One active instance per topology and group (``InstanceLease``); the others stand by and
        // take over the whole state when it leaves or fails.
        var leaseClient = setup.client
        // A standalone embedded broker has no CreateTopics: let it create the changelog on first use.
        leaseClient.properties["allow.auto.create.topics"] = "true"
        let lease = try InstanceLease(client: leaseClient, group: options.groupID + ".lease", topic: setup.changelog,
                                      sessionTimeoutMs: options.sessionTimeoutMs, logger: logger)
        defer { lease.close() }
        // The terms as the active instance (``LeaseStateMachine``). After losing the lease, while
        // it waits for the lease again, a checkpoint of another instance in the changelog (as the
        // lost term knew it) means this one was replaced (a zombie: exit fenced); getting the
        // lease back first means it was not (e.g. the broker was unreachable past the session timeout).
        var terms = LeaseStateMachine()
        while true {
            status?.setStandby(true)  // [ops]
            let acquired = try lease.acquire(stop: { shouldStop() || deadline.map { clock.now >= $0 } ?? false }, whileWaiting: {
                if let c = terms.waiting() { try c.store.checkOwnership(owner: owner, epoch: c.epoch, partitions: setup.allSourcePartitions) }
            })
            guard terms.acquired(acquired) == .runTerm else {
                return try Pipeline(compiled: compiled, partitions: setup.sourcePartitions, now: Self.nowMs())
            }
            status?.setStandby(false)  // [ops]
            let term = try runActive(compiled, setup, owner: owner, lease: (lease, terms), deadline: deadline)
            if terms.termEnded(term.end) == .stop { return term.pipeline }
            switch term.end {
            case .stopped: return term.pipeline
            case .leaseRevoked: logger.warning("the lease was handed over after a checkpoint; standing by")
            case .leaseLost: logger.warning("the lease was lost; standing by (state and offsets are in the changelog)")
            }
        }
    }

    /// How a term as the active instance ended.
    enum TermEnd {
        /// Stopped (signal, `--stop-at-end`, deadline): the final checkpoint is written.
        case stopped
        /// The lease group moved the lease; the revocation wrote a checkpoint first.
        case leaseRevoked
        /// The lease was lost (session timeout); nothing since `epoch` was committed. `store`
        /// is the changelog as this term knew it.
        case leaseLost(store: any CheckpointStore, epoch: UInt64)
    }

    /// What `run` resolves once: guarantee, topics, the client configuration.
    struct Setup {
        var guarantee: ProcessingSpec.Guarantee
        var interval: Duration
        var labelTopic: String?
        var labelPartitions: Int
        var ordered: Bool
        var client: KafkaConfiguration
        var source: String
        var sourcePartitions: Int
        var changelog: String
        /// Every source partition (what ownership checks cover: this runner owns them all).
        var allSourcePartitions: Set<Int32> { Set(0..<Int32(sourcePartitions)) }
    }

    /// Checks the topics and creates the missing output topics (and the changelog).
    func prepare(_ compiled: CompiledTopology) throws -> Setup {
        let spec = compiled.spec
        let guarantee = options.guarantee ?? spec.processing.guarantee
        let interval = options.checkpointInterval ?? .milliseconds(spec.processing.checkpointIntervalMs)
        let labelTopic = spec.model?.labelTopic
        // `source.order: timestamp`: the source partitions are merged in message-
        // timestamp order by the same merge as the label topic (``TimestampMerge`` with no label
        // side), so the pipeline's input order does not depend on how librdkafka interleaved fetches.
        let ordered = (options.order ?? spec.source.order) == .timestamp
        if guarantee == .exactlyOnce && options.checkpoints != .kafka {
            throw KafkaError.invalidState("exactly_once needs checkpoints in the Kafka changelog (not a directory or none)")
        }
        if guarantee == .exactlyOnce && spec.processing.outputHeaders == .none {
            logger.warning("processing.output_headers: none does not apply with --guarantee exactly_once: records carry weir.txn and their origin headers")
        }
        let client = KafkaConfiguration(bootstrapServers: options.brokers, clientID: "weir-\(spec.name)", properties: options.properties)
        let admin = try KafkaAdmin(configuration: client, embeddedBroker: embedded)
        let topics = try admin.listTopics()
        status?.setBrokerReachable(true)  // [ops]
        guard let source = spec.source.topics.first, let sourceInfo = topics.first(where: { $0.name == source }) else {
            throw KafkaError.invalidState("source topic \(spec.source.topics.first ?? "?") does not exist on \(options.brokers)")
        }
        if spec.source.topics.count > 1 { throw KafkaError.invalidState("weir run reads one source topic for now; the topology lists \(spec.source.topics.count)") }
        if let labelTopic {
            guard labelTopic != source else { throw KafkaError.invalidState("model.label_topic must differ from the source topic (\(source))") }
            guard topics.contains(where: { $0.name == labelTopic }) else {
                throw KafkaError.invalidState("label topic \(labelTopic) (model.label_topic) does not exist on \(options.brokers)")
            }
        }
        if let warning = Self.arrivalReferenceWarning(spec, partitions: sourceInfo.partitions.count, ordered: ordered, partitioned: options.partitioned) {
            logger.warning("\(warning)")
        }
        let existing = Set(topics.map(\.name))
        let changelog = KafkaChangelogStore.topicName(spec.name)
        var wanted = KafkaSink.topicNames(spec.sinks)
        if options.checkpoints == .kafka { wanted.append(changelog) }
        let missing = wanted.filter { !existing.contains($0) }.map { name in
            NewTopic(name: name, partitions: 1, configs: name == spec.sinks.models || name == changelog ? ["cleanup.policy": "compact"] : [:])
        }
        if !missing.isEmpty {
            do {
                _ = try admin.createTopics(missing, timeout: .seconds(5))
            } catch {
                // E.g. a standalone `weir broker` (librdkafka's mock has no CreateTopics): it creates
                // topics when they are first produced to.
                logger.warning("could not create output topics (\(error)); relying on the broker creating them on first use")
            }
        }
        return Setup(guarantee: guarantee, interval: interval, labelTopic: labelTopic,
                     labelPartitions: labelTopic.flatMap { t in topics.first { $0.name == t }?.partitions.count } ?? 0,
                     ordered: ordered, client: client, source: source, sourcePartitions: sourceInfo.partitions.count, changelog: changelog)
    }

    /// One term as the active instance: restore the newest checkpoint, read the source partitions
    /// (with the lease: every one, assigned directly; without: those the source group assigns),
    /// process until stopped (final checkpoint) or until the lease is lost or handed over.
    func runActive(_ compiled: CompiledTopology, _ setup: Setup, owner: String, lease leaseTerm: (lease: InstanceLease, terms: LeaseStateMachine)?,
                   deadline: ContinuousClock.Instant?) throws -> (pipeline: Pipeline, end: TermEnd) {
        let spec = compiled.spec
        let lease = leaseTerm?.lease
        let (guarantee, interval, labelTopic, ordered, client, source) = (setup.guarantee, setup.interval, setup.labelTopic, setup.ordered, setup.client, setup.source)
        // Exactly once: one transactional id per topology and group (this runner checkpoints its whole
        // state), so a restarted instance fences the previous one on real clusters.
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: client, transactionalID: guarantee == .exactlyOnce ? "weir-\(spec.name)-\(options.groupID)" : nil, lingerMs: 5))
        let store: (any CheckpointStore)?
        switch options.checkpoints {
        case .kafka: store = try KafkaChangelogStore(topology: spec.name, group: options.groupID, producer: producer, client: client)
        case .directory(let dir): store = try DirectoryCheckpointStore(directory: dir, topology: spec.name, group: options.groupID)
        case .none: store = nil
        }
        let coordinator = CheckpointCoordinator(store: store, guarantee: guarantee, owner: owner, topology: spec.name, group: options.groupID,
                                                sourceTopic: source, labelTopic: labelTopic ?? "", fullEvery: spec.processing.checkpointFullEvery,
                                                producer: producer, logger: logger)
        coordinator.metrics = metrics
        // With the lease the consumer is no group member (it assigns every partition): the lease
        // and the changelog's ownership check fence this instance, not the group's generation.
        coordinator.groupCommitsFence = lease == nil
        var pipeline = try Pipeline(compiled: compiled, partitions: setup.sourcePartitions, now: Self.nowMs())
        pipeline.backgroundDriftEvaluation = true
        serving?.role = .restoring  // [serving]
        defer { serving?.role = .standby }  // [serving] the term ends: no longer serving
        let restored = try coordinator.restore(into: &pipeline)
        status?.setStateRestored(true)  // [ops] readiness: state restored (or nothing to restore)
        serving?.role = .active  // [serving]
        // The run's state machines (docs/fault-tolerance.md, "Runner state machines"): the callbacks
        // and the loop below feed them events and perform the actions they return.
        var assignment = AssignmentStateMachine(restored: restored?.offsets ?? [])
        var fencing = FencingStateMachine()
        let clock = ContinuousClock()
        var checkpoints = CheckpointStateMachine(interval: store == nil ? options.commitInterval : interval, start: clock.now)

        // [ops] The metrics take the drift results and alerts typed, as the pipeline writes them.
        pipeline.monitorObserver = metrics
        var kafkaSink = try KafkaSink(producer: producer, sinks: spec.sinks, sourceTopic: source,
                                      tagging: KafkaSink.tags(checkpointed: store != nil, headers: spec.processing.outputHeaders,
                                                              exactlyOnce: guarantee == .exactlyOnce))
        kafkaSink.transactionOwner = guarantee == .exactlyOnce ? owner : nil
        kafkaSink.begin(epoch: coordinator.epoch + 1)
        var sink = TeeSink(base: kafkaSink, kinds: [.alerts, .retrain, .models], observe: onOutput ?? { _, _ in })
        // The timestamp merge (source order, label topic) holds records until every partition has
        // read or reported its end.
        let merging = labelTopic != nil || ordered
        // Resuming from a checkpoint: an offset that is no longer in the log is lost input (fatal).
        let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: Self.sourceConsumerClient(client), groupID: options.groupID, offsetReset: restored == nil ? options.from : .fail,
            reportEndOfPartition: options.stopAtEnd || merging, sessionTimeoutMs: options.sessionTimeoutMs))
        coordinator.consumer = consumer
        serving?.wake = { [consumer] in consumer.wake() }  // [serving] a request ends the poll's wait
        // The timestamp merge confirms partition ends with watermark queries: connect their client
        // now, while the group forms. (A new group's offset resets start at logical offsets and
        // query nothing; only a position outside the log asks, and connects the client then.)
        if merging { consumer.prepareWatermarkQueries(topics: [source] + (labelTopic.map { [$0] } ?? [])) }
        if let restored {
            consumer.setStartOffsets(restored.offsets.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) })
        }
        // The timestamp merge (source order, label topic): held records, positions, label assignment
        // (nil with `source.order: arrival` and no label topic).
        let maxHoldMs = Self.milliseconds(options.labelMaxHold)
        var merge = merging
            ? TimestampMerge(labelTopic: labelTopic ?? "", capacity: options.labelHoldCapacity, maxHoldMs: maxHoldMs) : nil
        if let restored, let labelTopic {
            try startLabels(from: restored, topic: labelTopic, partitions: setup.labelPartitions,
                            consumer: consumer, labels: &merge!)
        }
        try coordinator.start()

        var batch = InputBatch(capacity: 4096)
        // [serving] Events per batch: 1,024, fewer while serving requests keep arriving
        // (``ServingMailbox/batchLimit(otherwise:now:)``), so a request waits for a small batch.
        var batchLimit = 1024
        var failure: (any Error)?
        var events = 0
        var sawInput = false
        var firstInput: ContinuousClock.Instant?
        var deadLetterLog = DeadLetterLog(logger: logger)  // [ops]
        // Label topic: last end-of-partition confirmation (wall ms) and the interval between them.
        var lastEndCheck = Int64.min / 2
        let endCheckMs = Self.milliseconds(options.labelEndCheckInterval)
        // The consumer's topic-table index of the source and label topics, once seen.
        var sourceIndex = -1
        var labelIndex = -1
        func fail(_ error: any Error) {
            failure = error
            checkpoints.failed()
        }
        /// [serving] Answers the queued requests from the pipeline as it is now, and sets the next
        /// batches' size from the load.
        func serveRequests() {
            guard let serving else { return }
            serving.serve(pipeline, now: Self.nowMs())
            batchLimit = serving.batchLimit(otherwise: 1024)
        }
        func processBatch() throws {
            guard batch.count > 0 else { return }
            if firstInput == nil { firstInput = clock.now }
            let began = clock.now  // [ops]
            try pipeline.process(batch, topic: source, now: Self.nowMs(), into: &sink)
            serveRequests()  // [serving] between batches: one poll may deliver many
            reportStateBudget(&pipeline)  // [ops]
            metrics?.batchProcessed(pipeline, events: batch.count, duration: clock.now - began)  // [ops]
            deadLetterLog.batchProcessed(pipeline, topic: source)  // [ops] rate-limited, with topic/partition/offset/field
            events += batch.count
            // Per run of one partition, not per event (a dictionary update per event cost ~1%).
            var runPartition = batch.partitions[0]
            var runEnd = batch.offsets[0] + 1
            for i in 1..<batch.count {
                let p = batch.partitions[i]
                if p != runPartition {
                    assignment.processed(runPartition, through: runEnd)
                    runPartition = p
                    runEnd = batch.offsets[i] + 1
                } else {
                    runEnd = max(runEnd, batch.offsets[i] + 1)
                }
            }
            assignment.processed(runPartition, through: runEnd)
            batch.removeAll()
            sawInput = true
            checkpoints.processed()
        }
        /// With the timestamp merge (source order or a label topic): processes the held events and
        /// labels whose turn has come, in timestamp order (``TimestampMerge``); without it, nothing.
        func processHeld() throws {
            guard merge != nil else { return }
            var nowMs = Self.nowMs()
            // Partitions that reported their end may have new records that librdkafka has not
            // fetched yet: confirm their end (high watermark) before held records pass them, at
            // most every labelEndCheckInterval.
            let ends = merge!.endsToConfirm(sourceAssigned: assignment.assigned)
            if !ends.isEmpty && nowMs - lastEndCheck >= endCheckMs {
                lastEndCheck = nowMs
                for (isLabel, p) in ends {
                    let topic = isLabel ? merge!.labelTopic : source
                    guard let w = try? consumer.watermarks(TopicPartition(topic: topic, partition: p), timeout: .milliseconds(500)) else { continue }
                    if isLabel { merge!.labelClock.confirmEnd(partition: p, high: w.high, at: nowMs) } else { merge!.sourceClock.confirmEnd(partition: p, high: w.high, at: nowMs) }
                }
                nowMs = Self.nowMs()
            }
            while let step = merge!.next(sourceAssigned: assignment.assigned, nowMs: nowMs, into: &batch, maxBatch: batchLimit) {
                switch step {
                case .events:
                    try processBatch()
                case .labels:
                    let undecodable = pipeline.counters.labelDeadLetters
                    try pipeline.processLabels(merge!.labelBatch, topic: merge!.labelTopic, into: &sink)
                    merge!.labelsApplied()
                    if pipeline.counters.labelDeadLetters > undecodable {
                        logger.warning("\(pipeline.counters.labelDeadLetters - undecodable) undecodable label records (in the dead-letter topic)",
                                       metadata: ["topic": "\(merge!.labelTopic)"])
                    }
                    sawInput = true
                    checkpoints.processed()
                }
            }
        }
        /// ``CheckpointStateMachine/Action/checkpoint(revoking:)``: a checkpoint of everything
        /// processed (covering the processed source offsets and the label positions), or a plain
        /// offset commit. `periodic`: processing goes on while the checkpoint's records travel
        /// (the next checkpoint, hand-over or stop confirms them); otherwise they are awaited.
        func checkpoint(revoking: Bool, periodic: Bool = false) throws {
            // Outputs still in flight (a drift window judged in the background) first: the checkpoint covers them.
            try pipeline.settle(into: &sink)
            guard checkpoints.needsWrite(outputsPending: sink.base.written > 0) else {
                if !periodic { try coordinator.awaitDelivery() }
                return
            }
            try coordinator.checkpoint(pipeline, offsets: assignment.processed, labelOffsets: merge?.labelProcessed ?? [:], sink: &sink.base,
                                       revoking: revoking, awaitDelivery: !periodic)
            checkpoints.written()
        }
        /// Partitions (or the lease) move to another instance: process what was read and
        /// checkpoint it first (outputs acknowledged first), so the next owner resumes exactly
        /// here. A failure stops the run (at the next poll).
        func checkpointBeforeHandOver(_ what: String) {
            guard case .checkpoint(let revoking) = checkpoints.handOver() else {
                // Nothing new to checkpoint; the last one's records are delivered before the move.
                do { try coordinator.awaitDelivery() } catch {
                    logger.error("checkpoint on \(what) failed: \(error)")
                    fail(error)
                }
                return
            }
            do {
                try processBatch()
                try processHeld()
                try checkpoint(revoking: revoking)
            } catch {
                logger.error("checkpoint on \(what) failed: \(error)")
                fail(error)
            }
        }
        func perform(_ actions: [AssignmentStateMachine.Action]) {
            for action in actions {
                switch action {
                case let .resetPositions(ps, labels):
                    for p in labels where merge != nil {
                        merge!.labelAssigned.insert(p)
                        merge!.labelEnd.removeValue(forKey: p)
                        merge!.labelClock.reset(partition: p)
                    }
                    for p in ps { merge?.sourceClock.reset(partition: p) }
                case let .dropHeld(ps, labels):
                    merge?.dropSource(ps)
                    merge?.dropLabels(labels)
                case .unassignLabels(let labels):
                    merge?.labelAssigned.subtract(labels)
                case let .reportAssigned(ps, count):
                    status?.assign(ps)  // [ops]
                    metrics?.rebalanced(assignedCount: count)
                case let .reportRevoked(ps, count):
                    status?.revoke(ps)  // [ops]
                    if let count { metrics?.rebalanced(assignedCount: count) }
                }
            }
        }
        // [serving] Also while a checkpoint waits for the broker (it does not change the pipeline).
        if serving != nil { coordinator.whileWaiting = { serveRequests() } }
        // The callbacks only feed events to the machines (and perform what they return).
        consumer.onRebalance = { event in
            switch event {
            case .assigned(let all):
                perform(assignment.assigned(source: all.filter { $0.topic == source }.map(\.partition),
                                            labels: all.filter { $0.topic != source }.map(\.partition)))
            case .lost(let all):
                // The group took these partitions without a revocation (this process missed its
                // session timeout: it was paused, or the coordinator was unreachable). Never commit
                // for them; the main loop finds out whether another member took over (fenced: stop)
                // or not (resume from the newest checkpoint).
                self.logger.warning("partitions \(all.map { "\($0.topic)/\($0.partition)" }) lost to the group (session timed out)")
                perform(assignment.lost(source: all.filter { $0.topic == source }.map(\.partition),
                                        labels: merge == nil ? [] : all.filter { $0.topic != source }.map(\.partition)))
            case .revoked(let all):
                // Before the partitions move: process what was read, then checkpoint it (outputs
                // acknowledged first), so the next owner resumes exactly here. Held label records
                // are not covered: the next owner reads them again.
                checkpointBeforeHandOver("revoke")
                perform(assignment.revoked(source: Set(all.filter { $0.topic == source }.map(\.partition)),
                                           labels: merge == nil ? [] : Set(all.filter { $0.topic != source }.map(\.partition))))
            }
        }
        consumer.onEvent = { event in
            switch event {
            case .endOfPartition(let tp, let offset):
                if tp.topic == source {
                    assignment.reachedEnd(partition: tp.partition, offset: offset)
                    merge?.sourceClock.reachedEnd(partition: tp.partition, offset: offset)
                } else if merge != nil {
                    merge!.labelEnd[tp.partition] = offset
                    merge!.labelClock.reachedEnd(partition: tp.partition, offset: offset)
                }
            case .dataLoss(let r): self.logger.error("\(r.description)")
            case .error(let e):
                self.logger.warning("\(e.description)")
                // [ops] Readiness: all brokers down makes the instance unready until the next fetch or commit.
                if case .broker(let code, _, _, _, _) = e, code == .allBrokersDown {
                    self.status?.setBrokerReachable(false, error: e.description)
                }
            case .offsetReset: break
            }
        }
        // The lease moves to another instance (a rebalance of the lease group): checkpoint
        // everything read before it does, as on a partition revocation.
        var end = TermEnd.stopped
        lease?.onRevoke = { checkpointBeforeHandOver("lease hand-over") }
        defer {
            // The handlers capture the consumer and producer: release them so the clients are destroyed.
            consumer.onRebalance = nil
            consumer.onEvent = nil
            coordinator.consumer = nil
            lease?.onRevoke = nil
            serving?.wake = nil  // [serving]
            coordinator.whileWaiting = nil
        }
        do {
            if lease != nil {
                // The lease makes this the only active instance: it takes every partition itself
                // instead of joining the source group, whose first join would wait the broker's
                // initial rebalance delay (3 s) once more after the lease group's. Partitions added
                // to the topics while it runs are read after a restart.
                let all = (0..<Int32(setup.sourcePartitions)).map { TopicPartition(topic: source, partition: $0) }
                let labels = labelTopic.map { t in (0..<Int32(setup.labelPartitions)).map { TopicPartition(topic: t, partition: $0) } } ?? []
                try consumer.assignStarting(all + labels)
                perform(assignment.assigned(source: all.map(\.partition), labels: labels.map(\.partition)))
            } else {
                try consumer.subscribe(labelTopic.map { [source, $0] } ?? [source])
            }
            status?.setRunning(true)  // [ops]
            defer { status?.setRunning(false) }

            let start = clock.now
            checkpoints.scheduled(from: start)
            var lastProgress = start
            var lastLag = start  // [ops]
            while !shouldStop() {
                sawInput = false
                let pollMs = merge == nil ? 0 : Self.nowMs()
                // Bounded batches: drift decisions and retrain requests take effect within ~1k events.
                try consumer.poll(timeout: .milliseconds(100)) { m in
                    guard failure == nil else { return }
                    if merge != nil {
                        // Source or label topic, by the consumer's topic index (no string compare per
                        // event); both are held for the timestamp merge.
                        if m.topicIndex != sourceIndex {
                            if m.topicIndex == labelIndex || m.topic != source {
                                labelIndex = m.topicIndex
                                // A tombstone label record is an (empty) undecodable record: it is
                                // applied, so the label offsets move past it.
                                merge!.readLabel(m.value ?? UnsafeRawBufferPointer(start: nil, count: 0), partition: m.partition,
                                                  offset: m.offset, timestamp: m.timestamp, nowMs: pollMs)
                                return
                            }
                            sourceIndex = m.topicIndex
                        }
                        guard let v = m.value else { return }
                        merge!.readEvent(v, partition: m.partition, offset: m.offset, timestamp: m.timestamp, nowMs: pollMs)
                        return
                    }
                    guard let v = m.value else { return }
                    batch.append(v, partition: m.partition, offset: m.offset)
                    if batch.count >= batchLimit {
                        do { try processBatch() } catch { fail(error) }
                    }
                }
                if let failure { throw failure }
                // [serving] First what woke the poll (or waited through its last batch), before the
                // partial batch, the held records and the tick; again below for what arrives meanwhile.
                serveRequests()
                if let lease, let terms = leaseTerm?.terms {
                    try lease.poll()
                    if let failure { throw failure }
                    let action = terms.polled(lost: lease.lost, revoked: lease.revoked)
                    if action == .endTermLost {
                        // The lease group gave the lease away (this process missed its session
                        // timeout): another instance may be active now. If it checkpointed since,
                        // this one is a zombie (fenced, stop); otherwise end the term without
                        // committing anything and stand by for the lease again.
                        coordinator.abort()
                        try store!.checkOwnership(owner: owner, epoch: coordinator.epoch, partitions: setup.allSourcePartitions)
                        logger.warning("lease lost (session timed out); dropping what was not checkpointed")
                        end = .leaseLost(store: store!, epoch: coordinator.epoch)
                        break
                    }
                    if action == .endTermRevoked {
                        logger.notice("lease handed over to another instance after checkpoint epoch \(coordinator.epoch)")
                        end = .leaseRevoked
                        break
                    }
                }
                if case .checkOwnership(let lost) = fencing.poll(lostSource: assignment.lostSource, labelsLost: !assignment.lostLabels.isEmpty,
                                                                 checkpointsKept: store != nil) {
                    // Lost partitions: if another instance checkpointed them since, this one is a
                    // zombie (fenced, stop). Otherwise drop what was not checkpointed and resume
                    // from the newest checkpoint when the partitions come back.
                    do {
                        try coordinator.awaitDelivery()  // a periodic checkpoint still in flight: delivered (or stop) first
                        try store!.checkOwnership(owner: owner, epoch: coordinator.epoch, partitions: lost)
                    } catch let e as CheckpointError {
                        if case .fenced = e, case .stopFenced(let ps) = fencing.ownershipRefused() { throw CheckpointError.partitionsLost(ps) }
                        throw e
                    }
                    var restoredCheckpoint: Checkpoint?
                    for action in fencing.ownershipConfirmed() {
                        switch action {
                        case .dropUncheckedWork:
                            coordinator.abort()
                            batch.removeAll()
                        case .resetPipelineFromCheckpoint:
                            pipeline = try Pipeline(compiled: compiled, partitions: setup.sourcePartitions, now: Self.nowMs())
                            pipeline.backgroundDriftEvaluation = true
                            restoredCheckpoint = try coordinator.restore(into: &pipeline)
                        case .resumePartitions:
                            let labelsLost = assignment.lostLabels
                            let to = assignment.resume(from: restoredCheckpoint?.offsets)
                            if restoredCheckpoint != nil {
                                consumer.setStartOffsets(to.start.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) })
                                // Partitions still assigned go back to the checkpoint with the state.
                                if !to.seek.isEmpty { try consumer.seek(to.seek.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) }) }
                            }
                            if merge != nil { try resumeLabels(from: restoredCheckpoint, lost: labelsLost, consumer: consumer, labels: &merge!) }
                            sink.base.begin(epoch: coordinator.epoch + 1)
                            try coordinator.start()
                            checkpoints.resumed()
                            logger.warning("resuming partitions \(lost.sorted()) from checkpoint epoch \(coordinator.epoch) when they are assigned again")
                        case .checkOwnership, .stopFenced: break
                        }
                    }
                }
                try processBatch()
                try processHeld()
                if !sawInput {
                    try pipeline.tick(now: Self.nowMs(), into: &sink)
                    metrics?.outputsWritten(pipeline)  // [ops]
                }
                serveRequests()  // [serving] between batches, before the checkpoint check
                producer.poll()
                if let fatal = producer.fatalError { throw fatal }
                // Not while no source partition is assigned (joining the group, or waiting for
                // lost partitions to come back): the group commit would be refused (UNKNOWN_MEMBER_ID
                // on the embedded broker) and librdkafka then restarts its join, so an instance
                // whose checkpoint came due during every join never got its partitions. What was
                // processed before is checkpointed at the hand-over or at the stop.
                if !assignment.assigned.isEmpty, case .checkpoint(let revoking) = checkpoints.tick(now: clock.now) {
                    // The interval runs from checkpoint start to checkpoint start (not from the end
                    // of the previous one, which stretched it by the checkpoint's duration).
                    let began = clock.now
                    do {
                        try checkpoint(revoking: revoking, periodic: true)
                        checkpoints.scheduled(from: began)
                    } catch CheckpointError.groupFenced(let why) where store != nil {
                        // The group dropped this member (e.g. the coordinator was unreachable past
                        // the session timeout) before librdkafka reported the partitions lost:
                        // handle it like lost partitions (zombie → stop; otherwise resume from
                        // the newest checkpoint). Nothing was written.
                        logger.warning("group commit refused (\(why)); treating the partitions as lost")
                        if checkpoints.groupFenced(began: began) == .treatPartitionsAsLost {
                            assignment.allLost(labelsHeld: merge.map { $0.labelAssigned.union($0.labelProcessed.keys) } ?? [])
                        }
                    }
                    status?.setBrokerReachable(true)  // [ops] a commit succeeded
                }
                // [ops] Lag per partition (high watermark - next offset to process), every few seconds.
                if status != nil || metrics != nil, clock.now - lastLag >= .seconds(2) {
                    lastLag = clock.now
                    // From the last fetch responses (no request: a query here stalled the loop).
                    let lag = assignment.lag { p in consumer.cachedWatermarks(TopicPartition(topic: source, partition: p)) }
                    status?.setLag(lag)
                    metrics?.setLag(lag)
                }
                if clock.now - lastProgress >= .seconds(1), let onProgress {
                    onProgress(progress(pipeline, events: events, since: start, firstInput: firstInput, clock: clock, coordinator))
                    lastProgress = clock.now
                }
                if options.stopAtEnd {
                    // A bounded run: a partition read to its end (every fetched record processed;
                    // an empty one at once) stops holding the watermark back, so its windows fire
                    // as in `weir replay` instead of waiting for the idleness timeout.
                    let drained = merge?.drained ?? true
                    for p in assignment.partitionsReadToEnd(drained: drained) {
                        try pipeline.partitionEnded(p, now: Self.nowMs(), into: &sink)
                        checkpoints.processed()
                    }
                    if assignment.boundedRunComplete(sawInput: sawInput, drained: drained) { break }
                }
                if let deadline, clock.now >= deadline { break }
            }
            if case .stopped = end {
                // Graceful stop: checkpoint what was processed (or commit the open transaction), then
                // leave the group.
                try processBatch()
                try processHeld()
                if case .checkpoint(let revoking) = checkpoints.stop() { try checkpoint(revoking: revoking) }
                try coordinator.awaitDelivery()  // the last periodic checkpoint's records, if no checkpoint followed it
                coordinator.abort()
                onProgress?(progress(pipeline, events: events, since: start, firstInput: firstInput, clock: clock, coordinator))
            } else {
                // Nothing more is committed in this term (a hand-over checkpointed in the revocation).
                coordinator.abort()
                consumer.onRebalance = nil
            }
        } catch {
            coordinator.abort()
            consumer.close()
            producer.close(timeout: .seconds(5))
            throw error
        }
        consumer.close()
        producer.close()
        return (pipeline, end)
    }

    /// Why a `first_events` drift reference read in arrival order from several partitions is
    /// not the stream's first events (nil when it is: timestamp order, one partition, another
    /// reference, or `--partitioned`, whose global stage merges by event time). On a backlog one
    /// partition can be fetched thousands of events ahead: the stationary window after the
    /// reference was called drifted in 3 of 3 such runs (topologies/README.md, `order`).
    static func arrivalReferenceWarning(_ spec: TopologySpec, partitions: Int, ordered: Bool, partitioned: Bool) -> String? {
        guard !ordered, !partitioned, partitions > 1, case .firstEvents(let n)? = spec.drift?.reference else { return nil }
        return "drift reference first_events: \(n) is read in arrival order from \(partitions) partitions: on a backlog one partition "
            + "can run thousands of events ahead, so the reference and the first windows may hold later events and stationary data "
            + "may be called drifted; set source.order: timestamp (or --order timestamp) to make them the stream's first events"
    }

    /// The source consumer's client properties: `client` plus Weir's defaults where it sets none.
    /// - `consume.callback.max.messages` 2048: one poll serves at most this many messages, so
    ///   checkpoints (and progress) keep their interval while a large backlog is read.
    /// - `fetch.wait.max.ms` 100 (librdkafka: 500): how long the broker holds a fetch of a partition
    ///   with no new data. End of partition is only reported by the fetch after the last record, so
    ///   this bounds `--stop-at-end`, and the timestamp merge and label join confirming that an idle
    ///   partition has nothing older. 500 ms cost the contract benchmark ~0.3 s per run (RESULTS.md,
    ///   2026-11-23 21:40–21:50 UTC); 100 ms costs at most 10 empty fetches a second per broker while idle.
    static func sourceConsumerClient(_ client: KafkaConfiguration) -> KafkaConfiguration {
        var c = client
        for (name, value) in [("consume.callback.max.messages", "2048"), ("fetch.wait.max.ms", "100")] where c.properties[name] == nil {
            c.properties[name] = value
        }
        return c
    }

    /// The client properties of `weir run --partitioned`'s internal-topic consumers (`<name>.global`,
    /// `<name>.weights`; public for ScaleBench's `--kafka`): the source defaults, and the broker
    /// answers a fetch of an idle partition after 10 ms (librdkafka: 500; the source's 100), since
    /// each round trip of batches and weights bounds how fast tasks may run ahead (flow control)
    /// when the global stage keeps up.
    public static func internalConsumerClient(_ client: KafkaConfiguration) -> KafkaConfiguration {
        var c = sourceConsumerClient(client)
        if client.properties["fetch.wait.max.ms"] == nil { c.properties["fetch.wait.max.ms"] = "10" }
        return c
    }

    /// Logs the window state's budget level changes and publishes the level (readiness).
    func reportStateBudget(_ pipeline: inout Pipeline) {
        for line in pipeline.takeNewCalibrations() { logger.info("gate.calibrate: \(line)") }
        for c in pipeline.takeStateBudgetChanges() {
            let text = "window state \(c.bytes / 1_048_576) MiB of its \(c.limit / 1_048_576) MiB budget: \(c.from) → \(c.to)"
            let metadata: Logger.Metadata = ["state_bytes": "\(c.bytes)", "limit_bytes": "\(c.limit)", "level": "\(c.to)"]
            switch c.to {
            case .refusingNewKeys: logger.error("\(text); events of new keys are not aggregated until it shrinks below 90%", metadata: metadata)
            case .pressure where c.from == .normal: logger.warning("\(text)", metadata: metadata)
            default: logger.info("\(text)", metadata: metadata)
            }
        }
        if let b = pipeline.stateBudget { status?.setStateMemory(b) }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Whole milliseconds of `d`.
    static func milliseconds(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
}
