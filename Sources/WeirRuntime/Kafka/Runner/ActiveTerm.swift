import Foundation
import Logging
import WeirCore
import WeirKafka
import WeirTopology

/// One term of `weir run` as the active instance: the I/O layer around the runner's state
/// machines (``AssignmentStateMachine``, ``CheckpointStateMachine``, ``FencingStateMachine``,
/// ``LeaseStateMachine``; `docs/fault-tolerance.md`, "Runner state machines").
///
/// `init` restores the newest checkpoint into a new pipeline and opens the clients; ``run()``
/// reads the source partitions (with the lease: every one, assigned directly; without: those the
/// source group assigns) and processes until stopped (final checkpoint), or until the lease is
/// lost or handed over. The consumer's and the lease's callbacks only feed events to the machines
/// and perform the actions they return; each loop iteration (``step()``) is a fixed sequence of
/// phases, one method each.
///
/// Invariants: the pipeline only changes on the calling thread, inside ``run()`` (the callbacks
/// run inside the consumer's and the lease's polls); after ``run()`` returns or throws, no
/// callback refers to the term. A term is run once.
/// Cost: per message, one append to the input batch (or the timestamp merge); the rest per batch
/// of up to 1,024 events or per loop iteration.
final class ActiveTerm {
    /// How a loop iteration ended.
    enum Step { case next, endTerm }

    private let runner: KafkaRunner
    private let compiled: CompiledTopology
    private let setup: KafkaRunner.Setup
    private let owner: String
    private let lease: InstanceLease?
    private let terms: LeaseStateMachine?
    private let deadline: ContinuousClock.Instant?
    private var logger: Logger { runner.logger }

    private let producer: KafkaProducer
    private let store: (any CheckpointStore)?
    private let coordinator: CheckpointCoordinator
    private let consumer: KafkaConsumer
    private(set) var pipeline: Pipeline
    private var sink: TeeSink<KafkaSink>
    /// The timestamp merge (source order, label topic): held records, positions, label assignment
    /// (nil with `source.order: arrival` and no label topic).
    private var merge: TimestampMerge?

    private var assignment: AssignmentStateMachine
    private var fencing = FencingStateMachine()
    private var checkpoints: CheckpointStateMachine
    private let clock = ContinuousClock()

    private var batch = InputBatch(capacity: 4096)
    /// [serving] Events per batch: 1,024, fewer while serving requests keep arriving
    /// (``ServingMailbox/batchLimit(otherwise:now:)``), so a request waits for a small batch.
    private var batchLimit = 1024
    /// A failure inside a callback: the run stops at the next poll.
    private var failure: (any Error)?
    private var events = 0
    /// Input (events, labels) was processed in this loop iteration: no idle tick.
    private var sawInput = false
    private var started: ContinuousClock.Instant
    private var firstInput: ContinuousClock.Instant?
    private var lastProgress: ContinuousClock.Instant
    private var lastLag: ContinuousClock.Instant  // [ops]
    private var deadLetterLog: DeadLetterLog  // [ops]
    /// Label topic: last end-of-partition confirmation (wall ms) and the interval between them.
    private var lastEndCheck = Int64.min / 2
    private let endCheckMs: Int64
    /// The consumer's topic-table index of the source and label topics, once seen.
    private var sourceIndex = -1
    private var labelIndex = -1
    private var end = KafkaRunner.TermEnd.stopped

    private var source: String { setup.source }

    /// Opens the term's producer, checkpoint store and consumer, and restores the newest
    /// checkpoint into a new pipeline (the consumer starts at its offsets).
    init(runner: KafkaRunner, compiled: CompiledTopology, setup: KafkaRunner.Setup, owner: String,
         lease: (lease: InstanceLease, terms: LeaseStateMachine)?, deadline: ContinuousClock.Instant?) throws {
        self.runner = runner
        self.compiled = compiled
        self.setup = setup
        self.owner = owner
        self.lease = lease?.lease
        self.terms = lease?.terms
        self.deadline = deadline
        let options = runner.options, spec = compiled.spec
        let (guarantee, labelTopic, client, source) = (setup.guarantee, setup.labelTopic, setup.client, setup.source)
        // Exactly once: one transactional id per topology and group (this runner checkpoints its whole
        // state), so a restarted instance fences the previous one on real clusters.
        producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: client, transactionalID: guarantee == .exactlyOnce ? "weir-\(spec.name)-\(options.groupID)" : nil, lingerMs: 5))
        switch options.checkpoints {
        case .kafka: store = try KafkaChangelogStore(topology: spec.name, group: options.groupID, producer: producer, client: client)
        case .directory(let dir): store = try DirectoryCheckpointStore(directory: dir, topology: spec.name, group: options.groupID)
        case .none: store = nil
        }
        coordinator = CheckpointCoordinator(store: store, guarantee: guarantee, owner: owner, topology: spec.name, group: options.groupID,
                                            sourceTopic: source, labelTopic: labelTopic ?? "", fullEvery: spec.processing.checkpointFullEvery,
                                            producer: producer, logger: runner.logger)
        coordinator.metrics = runner.metrics
        // With the lease the consumer is no group member (it assigns every partition): the lease
        // and the changelog's ownership check fence this instance, not the group's generation.
        coordinator.groupCommitsFence = lease == nil
        pipeline = try Self.makePipeline(compiled, partitions: setup.sourcePartitions, runner: runner)
        // [serving] Restoring, then active once the term is set up; standby again if it cannot be.
        let serving = runner.serving
        serving?.role = .restoring
        var ready = false
        defer { if !ready { serving?.role = .standby } }
        let restored = try coordinator.restore(into: &pipeline)
        runner.status?.setStateRestored(true)  // [ops] readiness: state restored (or nothing to restore)
        assignment = AssignmentStateMachine(restored: restored?.offsets ?? [])
        checkpoints = CheckpointStateMachine(interval: store == nil ? options.commitInterval : setup.interval, start: clock.now)
        var kafkaSink = try KafkaSink(producer: producer, sinks: spec.sinks, sourceTopic: source,
                                      tagging: KafkaSink.tags(checkpointed: store != nil, headers: spec.processing.outputHeaders,
                                                              exactlyOnce: guarantee == .exactlyOnce))
        kafkaSink.transactionOwner = guarantee == .exactlyOnce ? owner : nil
        kafkaSink.begin(epoch: coordinator.epoch + 1)
        sink = TeeSink(base: kafkaSink, kinds: [.alerts, .retrain, .models], observe: runner.onOutput ?? { _, _ in })
        // The timestamp merge (source order, label topic) holds records until every partition has
        // read or reported its end.
        let merging = labelTopic != nil || setup.ordered
        // Resuming from a checkpoint: an offset that is no longer in the log is lost input (fatal).
        consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaRunner.sourceConsumerClient(client), groupID: options.groupID, offsetReset: restored == nil ? options.from : .fail,
            reportEndOfPartition: options.stopAtEnd || merging, sessionTimeoutMs: options.sessionTimeoutMs))
        // The timestamp merge confirms partition ends with watermark queries: connect their client
        // now, while the group forms. (A new group's offset resets start at logical offsets and
        // query nothing; only a position outside the log asks, and connects the client then.)
        if merging { consumer.prepareWatermarkQueries(topics: [source] + (labelTopic.map { [$0] } ?? [])) }
        if let restored {
            consumer.setStartOffsets(restored.offsets.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) })
        }
        merge = merging
            ? TimestampMerge(labelTopic: labelTopic ?? "", capacity: options.labelHoldCapacity, maxHoldMs: KafkaRunner.milliseconds(options.labelMaxHold))
            : nil
        endCheckMs = KafkaRunner.milliseconds(options.labelEndCheckInterval)
        deadLetterLog = DeadLetterLog(logger: runner.logger)
        started = clock.now
        lastProgress = started
        lastLag = started
        if let restored, let labelTopic {
            try runner.startLabels(from: restored, topic: labelTopic, partitions: setup.labelPartitions, consumer: consumer, labels: &merge!)
        }
        ready = true
        serving?.role = .active
    }

    /// Runs the term: reads and processes until stopped, or until the lease is lost or handed
    /// over. Closes the clients.
    func run() throws -> (pipeline: Pipeline, end: KafkaRunner.TermEnd) {
        defer { runner.serving?.role = .standby }  // [serving] the term ends: no longer serving
        coordinator.consumer = consumer
        runner.serving?.wake = { [consumer] in consumer.wake() }  // [serving] a request ends the poll's wait
        installHandlers()
        defer { detachHandlers() }
        do {
            try coordinator.start()
            try readSourcePartitions()
            runner.status?.setRunning(true)  // [ops]
            defer { runner.status?.setRunning(false) }
            started = clock.now
            checkpoints.scheduled(from: started)
            lastProgress = started
            lastLag = started
            while !runner.shouldStop() {
                if try step() == .endTerm { break }
            }
            if case .stopped = end {
                try stopGracefully()
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

    /// A fresh pipeline with the run's settings (not state, so not in checkpoints): drift
    /// windows of `drift.mode: contract` judged in the background, the metrics shown the drift
    /// results and alerts typed as they are written [ops], and serving requests answered during
    /// the pipeline's long steps [serving].
    static func makePipeline(_ compiled: CompiledTopology, partitions: Int, runner: KafkaRunner) throws -> Pipeline {
        var p = try Pipeline(compiled: compiled, partitions: partitions, now: KafkaRunner.nowMs())
        p.backgroundDriftEvaluation = true
        p.monitorObserver = runner.metrics
        if let serving = runner.serving { p.servingPause = { view in serving.serve(view, now: KafkaRunner.nowMs()) } }
        return p
    }

    // MARK: the loop

    /// One loop iteration: poll, serve, the lease, lost partitions, what was read, the idle tick,
    /// the producer, the periodic checkpoint, lag and progress reports, the bounded run's end.
    func step() throws -> Step {
        sawInput = false
        let pollMs = merge == nil ? 0 : KafkaRunner.nowMs()
        // Bounded batches: drift decisions and retrain requests take effect within ~1k events.
        try consumer.poll(timeout: .milliseconds(100)) { m in receive(m, pollMs: pollMs) }
        if let failure { throw failure }
        // [serving] First what woke the poll (or waited through its last batch), before the
        // partial batch, the held records and the tick; again below for what arrives meanwhile.
        serveRequests()
        if try pollLease() == .endTerm { return .endTerm }
        if case .checkOwnership(let lost) = fencing.poll(lostSource: assignment.lostSource, labelsLost: !assignment.lostLabels.isEmpty,
                                                         checkpointsKept: store != nil) {
            try recoverLost(lost)
        }
        try processBatch()
        try processHeld()
        if !sawInput {
            try pipeline.tick(now: KafkaRunner.nowMs(), into: &sink)
            runner.metrics?.outputsWritten(pipeline)  // [ops]
        }
        serveRequests()  // [serving] between batches, before the checkpoint check
        producer.poll()
        if let fatal = producer.fatalError { throw fatal }
        try checkpointIfDue()
        reportLagAndProgress()
        if runner.options.stopAtEnd, try endReadPartitions() { return .endTerm }
        if let deadline, clock.now >= deadline { return .endTerm }
        return .next
    }

    /// One polled message: into the input batch (processed when full), or with the timestamp
    /// merge into its held events or labels.
    @inline(__always)
    private func receive(_ m: KafkaMessage, pollMs: Int64) {
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

    private func fail(_ error: any Error) {
        failure = error
        checkpoints.failed()
    }

    /// [serving] Answers the queued requests from the pipeline as it is now, and sets the next
    /// batches' size from the load.
    private func serveRequests() {
        guard let serving = runner.serving else { return }
        serving.serve(pipeline, now: KafkaRunner.nowMs())
        batchLimit = serving.batchLimit(otherwise: 1024)
    }

    /// Processes the input batch and records how far each partition was processed.
    private func processBatch() throws {
        guard batch.count > 0 else { return }
        if firstInput == nil { firstInput = clock.now }
        let began = clock.now  // [ops]
        try pipeline.process(batch, topic: source, now: KafkaRunner.nowMs(), into: &sink)
        serveRequests()  // [serving] between batches: one poll may deliver many
        runner.reportStateBudget(&pipeline)  // [ops]
        runner.metrics?.batchProcessed(pipeline, events: batch.count, duration: clock.now - began)  // [ops]
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
    private func processHeld() throws {
        guard merge != nil else { return }
        let nowMs = confirmEnds(now: KafkaRunner.nowMs())
        while let step = merge!.next(sourceAssigned: assignment.assigned, nowMs: nowMs, into: &batch, maxBatch: batchLimit) {
            switch step {
            case .events:
                try processBatch()
            case .labels:
                let undecodable = pipeline.counters.labelDeadLetters
                try pipeline.processLabels(merge!.labelBatch, topic: merge!.labelTopic, into: &sink)
                merge!.labelsApplied()
                runner.logUndecodableLabels(pipeline.counters.labelDeadLetters - undecodable, topic: merge!.labelTopic)
                sawInput = true
                checkpoints.processed()
            }
        }
    }

    /// Partitions that reported their end may have new records that librdkafka has not fetched
    /// yet: confirms their end (high watermark) before held records pass them, at most every
    /// `labelEndCheckInterval`. Returns the wall clock after the queries.
    private func confirmEnds(now nowMs: Int64) -> Int64 {
        let ends = merge!.endsToConfirm(sourceAssigned: assignment.assigned)
        guard !ends.isEmpty && nowMs - lastEndCheck >= endCheckMs else { return nowMs }
        lastEndCheck = nowMs
        for (isLabel, p) in ends {
            let topic = isLabel ? merge!.labelTopic : source
            guard let w = try? consumer.watermarks(TopicPartition(topic: topic, partition: p), timeout: .milliseconds(500)) else { continue }
            if isLabel { merge!.labelClock.confirmEnd(partition: p, high: w.high, at: nowMs) } else { merge!.sourceClock.confirmEnd(partition: p, high: w.high, at: nowMs) }
        }
        return KafkaRunner.nowMs()
    }

    // MARK: checkpoints

    /// ``CheckpointStateMachine/Action/checkpoint(revoking:)``: a checkpoint of everything
    /// processed (covering the processed source offsets and the label positions), or a plain
    /// offset commit. `periodic`: processing goes on while the checkpoint's records travel
    /// (the next checkpoint, hand-over or stop confirms them); otherwise they are awaited.
    private func checkpoint(revoking: Bool, periodic: Bool = false) throws {
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

    /// The periodic checkpoint, when due. Not while no source partition is assigned (joining the
    /// group, or waiting for lost partitions to come back): the group commit would be refused
    /// (UNKNOWN_MEMBER_ID on the embedded broker) and librdkafka then restarts its join, so an
    /// instance whose checkpoint came due during every join never got its partitions. What was
    /// processed before is checkpointed at the hand-over or at the stop.
    private func checkpointIfDue() throws {
        guard !assignment.assigned.isEmpty, case .checkpoint(let revoking) = checkpoints.tick(now: clock.now) else { return }
        // The interval runs from checkpoint start to checkpoint start (not from the end
        // of the previous one, which stretched it by the checkpoint's duration).
        let began = clock.now
        do {
            try checkpoint(revoking: revoking, periodic: true)
            checkpoints.scheduled(from: began)
        } catch CheckpointError.groupFenced(let why) where store != nil {
            // The group dropped this member (e.g. the coordinator was unreachable past the
            // session timeout) before librdkafka reported the partitions lost: handle it like
            // lost partitions (zombie → stop; otherwise resume from the newest checkpoint).
            // Nothing was written.
            logger.warning("group commit refused (\(why)); treating the partitions as lost")
            if checkpoints.groupFenced(began: began) == .treatPartitionsAsLost {
                assignment.allLost(labelsHeld: merge.map { $0.labelAssigned.union($0.labelProcessed.keys) } ?? [])
            }
        }
        runner.status?.setBrokerReachable(true)  // [ops] a commit succeeded
    }

    /// Partitions (or the lease) move to another instance: process what was read and
    /// checkpoint it first (outputs acknowledged first), so the next owner resumes exactly
    /// here. A failure stops the run (at the next poll).
    private func checkpointBeforeHandOver(_ what: String) {
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

    /// Graceful stop: checkpoints what was processed (or commits the open transaction); the
    /// caller then leaves the group.
    private func stopGracefully() throws {
        try processBatch()
        try processHeld()
        if case .checkpoint(let revoking) = checkpoints.stop() { try checkpoint(revoking: revoking) }
        try coordinator.awaitDelivery()  // the last periodic checkpoint's records, if no checkpoint followed it
        coordinator.abort()
        runner.onProgress?(runner.progress(pipeline, events: events, since: started, firstInput: firstInput, clock: clock, coordinator))
    }

    // MARK: assignment, lease and fencing

    /// With the lease: assigns every source and label partition directly. The lease makes this
    /// the only active instance, so it need not join the source group, whose first join would
    /// wait the broker's initial rebalance delay (3 s) once more after the lease group's.
    /// Partitions added to the topics while it runs are read after a restart. Without the lease:
    /// subscribes (the source group assigns).
    private func readSourcePartitions() throws {
        guard lease != nil else {
            try consumer.subscribe(setup.labelTopic.map { [source, $0] } ?? [source])
            return
        }
        let all = (0..<Int32(setup.sourcePartitions)).map { TopicPartition(topic: source, partition: $0) }
        let labels = setup.labelTopic.map { t in (0..<Int32(setup.labelPartitions)).map { TopicPartition(topic: t, partition: $0) } } ?? []
        try consumer.assignStarting(all + labels)
        perform(assignment.assigned(source: all.map(\.partition), labels: labels.map(\.partition)))
    }

    /// The consumer's and the lease's callbacks: they only feed events to the machines (and
    /// perform what they return).
    private func installHandlers() {
        // [serving] Also while a checkpoint waits for the broker (it does not change the pipeline).
        if runner.serving != nil { coordinator.whileWaiting = { [unowned self] in serveRequests() } }
        consumer.onRebalance = { [unowned self] event in rebalanced(event) }
        consumer.onEvent = { [unowned self] event in consumerEvent(event) }
        // The lease moves to another instance (a rebalance of the lease group): checkpoint
        // everything read before it does, as on a partition revocation.
        lease?.onRevoke = { [unowned self] in checkpointBeforeHandOver("lease hand-over") }
    }

    /// The handlers capture the term (and so the consumer and producer): released, so the
    /// clients are destroyed.
    private func detachHandlers() {
        consumer.onRebalance = nil
        consumer.onEvent = nil
        coordinator.consumer = nil
        lease?.onRevoke = nil
        runner.serving?.wake = nil  // [serving]
        coordinator.whileWaiting = nil
    }

    private func rebalanced(_ event: RebalanceEvent) {
        let labelsHeld = merge != nil
        switch event {
        case .assigned(let all):
            perform(assignment.assigned(source: all.filter { $0.topic == source }.map(\.partition),
                                        labels: all.filter { $0.topic != source }.map(\.partition)))
        case .lost(let all):
            // The group took these partitions without a revocation (this process missed its
            // session timeout: it was paused, or the coordinator was unreachable). Never commit
            // for them; the main loop finds out whether another member took over (fenced: stop)
            // or not (resume from the newest checkpoint).
            logger.warning("partitions \(all.map { "\($0.topic)/\($0.partition)" }) lost to the group (session timed out)")
            perform(assignment.lost(source: all.filter { $0.topic == source }.map(\.partition),
                                    labels: labelsHeld ? all.filter { $0.topic != source }.map(\.partition) : []))
        case .revoked(let all):
            // Before the partitions move: process what was read, then checkpoint it (outputs
            // acknowledged first), so the next owner resumes exactly here. Held label records
            // are not covered: the next owner reads them again.
            checkpointBeforeHandOver("revoke")
            perform(assignment.revoked(source: Set(all.filter { $0.topic == source }.map(\.partition)),
                                       labels: labelsHeld ? Set(all.filter { $0.topic != source }.map(\.partition)) : []))
        }
    }

    private func consumerEvent(_ event: ConsumerEvent) {
        switch event {
        case .endOfPartition(let tp, let offset):
            if tp.topic == source {
                assignment.reachedEnd(partition: tp.partition, offset: offset)
                merge?.sourceClock.reachedEnd(partition: tp.partition, offset: offset)
            } else if merge != nil {
                merge!.labelEnd[tp.partition] = offset
                merge!.labelClock.reachedEnd(partition: tp.partition, offset: offset)
            }
        case .dataLoss(let r): logger.error("\(r.description)")
        case .error(let e):
            logger.warning("\(e.description)")
            // [ops] Readiness: all brokers down makes the instance unready until the next fetch or commit.
            if case .broker(let code, _, _, _, _) = e, code == .allBrokersDown {
                runner.status?.setBrokerReachable(false, error: e.description)
            }
        case .offsetReset: break
        }
    }

    private func perform(_ actions: [AssignmentStateMachine.Action]) {
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
                runner.status?.assign(ps)  // [ops]
                runner.metrics?.rebalanced(assignedCount: count)
            case let .reportRevoked(ps, count):
                runner.status?.revoke(ps)  // [ops]
                if let count { runner.metrics?.rebalanced(assignedCount: count) }
            }
        }
    }

    /// With the lease: polls it and ends the term when it was lost or handed over.
    private func pollLease() throws -> Step {
        guard let lease, let terms else { return .next }
        try lease.poll()
        if let failure { throw failure }
        switch terms.polled(lost: lease.lost, revoked: lease.revoked) {
        case .endTermLost:
            // The lease group gave the lease away (this process missed its session timeout):
            // another instance may be active now. If it checkpointed since, this one is a zombie
            // (fenced, stop); otherwise end the term without committing anything and stand by
            // for the lease again.
            coordinator.abort()
            try store!.checkOwnership(owner: owner, epoch: coordinator.epoch, partitions: setup.allSourcePartitions)
            logger.warning("lease lost (session timed out); dropping what was not checkpointed")
            end = .leaseLost(store: store!, epoch: coordinator.epoch)
            return .endTerm
        case .endTermRevoked:
            logger.notice("lease handed over to another instance after checkpoint epoch \(coordinator.epoch)")
            end = .leaseRevoked
            return .endTerm
        default:
            return .next
        }
    }

    /// Lost partitions: if another instance checkpointed them since, this one is a zombie
    /// (fenced, stop). Otherwise drops what was not checkpointed and resumes from the newest
    /// checkpoint when the partitions come back.
    private func recoverLost(_ lost: Set<Int32>) throws {
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
                pipeline = try Self.makePipeline(compiled, partitions: setup.sourcePartitions, runner: runner)
                restoredCheckpoint = try coordinator.restore(into: &pipeline)
            case .resumePartitions:
                let labelsLost = assignment.lostLabels
                let to = assignment.resume(from: restoredCheckpoint?.offsets)
                if restoredCheckpoint != nil {
                    consumer.setStartOffsets(to.start.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) })
                    // Partitions still assigned go back to the checkpoint with the state.
                    if !to.seek.isEmpty { try consumer.seek(to.seek.map { TopicPartitionOffset(topic: source, partition: $0.partition, offset: $0.offset) }) }
                }
                if merge != nil { try runner.resumeLabels(from: restoredCheckpoint, lost: labelsLost, consumer: consumer, labels: &merge!) }
                sink.base.begin(epoch: coordinator.epoch + 1)
                try coordinator.start()
                checkpoints.resumed()
                logger.warning("resuming partitions \(lost.sorted()) from checkpoint epoch \(coordinator.epoch) when they are assigned again")
            case .checkOwnership, .stopFenced: break
            }
        }
    }

    // MARK: reports and the bounded run

    /// [ops] Lag per partition (high watermark - next offset to process) of the source and the
    /// label topic, and the labels held, every few seconds; progress about once a second.
    private func reportLagAndProgress() {
        let (status, metrics) = (runner.status, runner.metrics)
        if status != nil || metrics != nil, clock.now - lastLag >= .seconds(2) {
            lastLag = clock.now
            // From the last fetch responses (no request: a query here stalled the loop).
            let lag = assignment.lag { [consumer, source] p in consumer.cachedWatermarks(TopicPartition(topic: source, partition: p)) }
            status?.setLag(lag)
            metrics?.setLag(lag)
            if let m = merge, !m.labelTopic.isEmpty {
                runner.reportLabels(topic: m.labelTopic, partitions: m.labelAssigned, next: m.labelNext, held: m.heldLabels, consumer: consumer)
            }
        }
        if clock.now - lastProgress >= .seconds(1), let onProgress = runner.onProgress {
            onProgress(runner.progress(pipeline, events: events, since: started, firstInput: firstInput, clock: clock, coordinator))
            lastProgress = clock.now
        }
    }

    /// A bounded run (`--stop-at-end`): a partition read to its end (every fetched record
    /// processed; an empty one at once) stops holding the watermark back, so its windows fire as
    /// in `weir replay` instead of waiting for the idleness timeout. True once the run is complete.
    private func endReadPartitions() throws -> Bool {
        let drained = merge?.drained ?? true
        for p in assignment.partitionsReadToEnd(drained: drained) {
            try pipeline.partitionEnded(p, now: KafkaRunner.nowMs(), into: &sink)
            checkpoints.processed()
        }
        return assignment.boundedRunComplete(sawInput: sawInput, drained: drained)
    }
}
