import Foundation
import Logging
import WeirKafka
import WeirStats
import WeirTopology

/// The global stage of a partitioned run, while this instance holds its lease
/// (``PartitionedRunner``): reads every partition of `<name>.global`, merges the tasks'
/// batches (``GlobalInputMerge``), learns, judges drift and gates (``Pipeline/processGlobal(_:events:now:into:)``),
/// writes drift, alerts, retrain and model records, and broadcasts the champion's weights on
/// `<name>.weights` every `weightsInterval` when it learned since.
///
/// Checkpoint: by a ``CheckpointCoordinator`` like any other (``CheckpointCoordinator/Scope/globalStage(processed:)``):
/// outputs flushed, then the state with the `<name>.global` offsets it covers
/// (``GlobalInputMerge/resumeOffsets``) to `<name>.global.changelog`: full images
/// (``Pipeline/globalStageState(processed:)``) and increments on them between
/// (``Pipeline/globalStageIncrement(processed:unchangedSince:)``: the drift references, the
/// largest part of the state, are left out while they do not change), as ``ChainPolicy`` decides.
/// At least once, a periodic checkpoint does not wait for its own records (the next one, the
/// hand-over or the stop confirms them), as the single runner's.
/// Exactly once: the stage's own transactional producer (`weir-<name>-<group>-global`, the same
/// id whoever holds the lease, so on a real cluster a new holder fences the previous one), one
/// transaction per checkpoint holding its outputs, weights and checkpoint records; it reads
/// `<name>.global` read-committed (a task's batches once the task's transaction commits).
/// Its writer id (checkpoint owner, `weir.txn`) is the instance's followed by `.global`.
/// Back-pressure: past `maxHeldBytes` held (`--global-max-held-bytes`), partitions with batches held are paused until half
/// of it is processed; a paused partition whose held batches ran out is resumed at once
/// (``GlobalBackPressure``).
/// Label topic (`model.label_topic`): the stage also reads every partition of it, holds the
/// labels and applies them between the tasks' events in message-timestamp order
/// (``GlobalLabelMerge``); its checkpoints cover the label offsets applied.
final class GlobalStage {
    let runner: PartitionedRunner
    let topic: String
    private(set) var pipeline: Pipeline
    private var merge: GlobalInputMerge
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    /// Checkpoints (store, exactly once the producer's transaction, epoch, chain and base).
    private let coordinator: CheckpointCoordinator
    private var sink: KafkaSink
    private let weightsTopic: ProducerTopic
    private let owner: String
    private(set) var lastCheckpoint = ContinuousClock().now
    private var lastWeights = ContinuousClock().now
    private var weightsLabels = -1
    private var weightsCovered: [Int64] = []
    private var backPressure = GlobalBackPressure()
    private var dirty = false
    /// Label topic: its labels, and the last confirmation of its partitions' ends (wall ms).
    private var labels: GlobalLabelMerge?
    private var lastEndCheck = Int64.min / 2
    private let endCheckMs: Int64
    /// Label topic: per task partition the source's high watermark and when it was queried (wall
    /// ms), which confirms a caught-up partition's end for the labels read before then.
    private var sourceEnds: [Int32: (high: Int64, at: Int64)] = [:]
    private let sourceTopic: String
    /// Label topic: out-of-order applications already logged (events, labels), and when.
    private var forcedLogged = (events: 0, labels: 0)
    private var lastForcedLog = ContinuousClock().now - .seconds(3600)
    /// Where each `<name>.global` partition resumed (lag before its first batch), and the last lag report.
    private let startOffsets: [Int32: Int64]
    /// [metrics] What the metrics last counted of the pipeline (from its restore on).
    private var seen = RuntimeMetrics.Seen()
    private var lastLag = ContinuousClock().now - .seconds(3600)
    var maxHeldBytes = 256 << 20
    var weightsInterval: Duration = .milliseconds(100)

    init(runner: PartitionedRunner, compiled: CompiledTopology, setup: KafkaRunner.Setup, owner: String, partitions: Int) throws {
        let spec = compiled.spec
        let options = runner.options
        self.runner = runner
        self.owner = owner + ".global"
        topic = PartitionedRunner.globalTopic(spec.name)
        let exactlyOnce = setup.guarantee == .exactlyOnce
        producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: setup.client, transactionalID: exactlyOnce ? "weir-\(spec.name)-\(options.groupID)-global" : nil, lingerMs: 5))
        weightsTopic = try producer.topic(PartitionedRunner.weightsTopic(spec.name))
        let store: (any CheckpointStore)? = options.checkpoints == .kafka
            ? try KafkaChangelogStore(topology: spec.name, group: options.groupID, producer: producer, client: setup.client,
                                      topic: PartitionedRunner.globalChangelog(spec.name))
            : nil
        coordinator = CheckpointCoordinator(store: store, guarantee: setup.guarantee, owner: self.owner, topology: spec.name, group: options.groupID,
                                            sourceTopic: topic, labelTopic: setup.labelTopic ?? "", fullEvery: spec.processing.checkpointFullEvery,
                                            producer: producer, logger: runner.logger)
        coordinator.metrics = runner.runner.metrics  // the transaction's commits and aborts
        pipeline = try Pipeline(compiled: compiled, partitions: partitions, now: KafkaRunner.nowMs(), role: .global)
        // `drift.mode: contract`: closed windows judged on another thread, as one instance does
        // (the records are the same, at the same source positions: GlobalBackgroundJudgingTests).
        pipeline.backgroundDriftEvaluation = true
        pipeline.monitorObserver = runner.runner.metrics  // [metrics] drift and alert gauges from the global stage
        weightsInterval = options.weightsInterval
        maxHeldBytes = options.globalMaxHeldBytes
        let clock = ContinuousClock()
        let began = clock.now
        var processed: [Int32: Int64] = [:]
        var offsets: [Int32: Int64] = [:]
        var labelOffsets: [Int32: Int64] = [:]
        let restored = try store?.loadChain() ?? []
        if let store, let c = restored.last {
            guard c.sourceTopic == topic else {
                throw CheckpointError.damaged(what: "checkpoint in \(store.location)", detail: "it covers topic \(c.sourceTopic), not \(topic)")
            }
            processed = try pipeline.restoreGlobalStageState(restored[0].state)
            for inc in restored.dropFirst() { processed = try pipeline.applyGlobalStageIncrement(inc.state) }
            for o in c.offsets { offsets[o.partition] = o.offset }
            if c.labelTopic == setup.labelTopic { for o in c.labelOffsets { labelOffsets[o.partition] = o.offset } }
            coordinator.restored(restored, pipeline)
        }
        let epoch = coordinator.epoch
        merge = GlobalInputMerge(partitions: partitions, processed: processed)
        startOffsets = offsets
        sink = try KafkaSink(producer: producer, sinks: spec.sinks, sourceTopic: setup.source,
                             tagging: KafkaSink.tags(checkpointed: store != nil, headers: spec.processing.outputHeaders, exactlyOnce: exactlyOnce))
        sink.transactionOwner = exactlyOnce ? self.owner : nil
        sink.begin(epoch: epoch + 1)
        endCheckMs = KafkaRunner.milliseconds(options.labelEndCheckInterval)
        sourceTopic = setup.source
        consumer = try KafkaConsumer(configuration: ConsumerConfiguration(client: KafkaRunner.internalConsumerClient(setup.client),
                                                                          groupID: options.groupID + ".global", offsetReset: .earliest,
                                                                          reportEndOfPartition: setup.labelTopic != nil))
        var assigned = (0..<Int32(partitions)).map { p in
            TopicPartitionOffset(topic: topic, partition: p, offset: offsets[p] ?? TopicPartitionOffset.beginning)
        }
        if let labelTopic = setup.labelTopic {
            // Label partitions from the checkpoint's label offsets; those it does not cover from
            // where `--from` says (they were never applied by this topology's global stage).
            labels = GlobalLabelMerge(topic: labelTopic, partitions: setup.labelPartitions, capacity: options.labelHoldCapacity,
                                      maxHoldMs: KafkaRunner.milliseconds(options.labelMaxHold), processed: labelOffsets)
            let fallback = options.from == .latest ? TopicPartitionOffset.end : TopicPartitionOffset.beginning
            assigned += (0..<Int32(setup.labelPartitions)).map { p in
                TopicPartitionOffset(topic: labelTopic, partition: p, offset: labelOffsets[p] ?? fallback)
            }
            consumer.prepareWatermarkQueries(topics: [labelTopic, setup.source])
        }
        try consumer.assign(assigned)
        let seconds = (clock.now - began) / .seconds(1)
        let labelsAt = labels.map { l in "; labels at " + (0..<Int32(l.partitions)).map { "\($0)@\(labelOffsets[$0].map(String.init) ?? "start")" }.joined(separator: ",") } ?? ""
        runner.logger.notice("global stage active: \(epoch == 0 ? "started empty" : "restored checkpoint epoch \(epoch) (read \(store?.lastReadSummary ?? "") of \(PartitionedRunner.globalChangelog(spec.name)))") in \(String(format: "%.3f", seconds)) s; reading \(topic) at \(offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ","))\(labelsAt)")
        seen = RuntimeMetrics.Seen(pipeline)
        try coordinator.start()
        try broadcastWeights(force: true)
        if labels != nil {
            consumer.onEvent = { [unowned self] event in
                if case .endOfPartition(let tp, let offset) = event, tp.topic == labels?.topic {
                    labels!.reachedEnd(partition: tp.partition, offset: offset)
                }
            }
        }
    }

    /// Every partition ended (bounded run) and everything is processed, the labels read to
    /// their end included.
    var allEnded: Bool { merge.allEnded && (labels?.drained ?? true) }

    /// What ``allEnded`` waits for: the input partitions not ended, and whether the label topic
    /// is not yet read and applied to its end.
    var pending: (partitions: [Int32], labels: Bool) { (merge.pendingPartitions, !(labels?.drained ?? true)) }

    /// Reads what arrived and processes every run the merge allows; true when it did work.
    func step(now: Int64) throws -> Bool {
        var failure: (any Error)?
        var read = 0
        try consumer.poll(timeout: .zero) { m in
            guard failure == nil else { return }
            if labels != nil && m.topic == labels!.topic {
                // A tombstone is an (empty) undecodable label: applied, so the offsets move past it.
                labels!.read(m.value ?? UnsafeRawBufferPointer(start: nil, count: 0), partition: m.partition, offset: m.offset,
                             timestamp: m.timestamp, nowMs: now)
                read += 1
                return
            }
            guard let v = m.value else { return }
            do { try merge.add(partition: m.partition, offset: m.offset, bytes: v) } catch { failure = error }
            labels?.eventsRead(nowMs: now)
            read += 1
        }
        if let failure { throw failure }
        let runs: Int
        if labels != nil {
            confirmLabelEnds(now: now)
            // A caught-up task partition with nothing held lets labels pass once its source's high
            // watermark, queried after they were read, shows nothing beyond what the task had read
            // (its batches' source position: dead letters included): an event produced before
            // such a label may still be in its task otherwise.
            let (ends, labelsRead) = (sourceEnds, labels!.lastLabelRead)
            let undecodable = pipeline.counters.labelDeadLetters
            runs = try pipeline.processGlobal(merging: &merge, labels: &labels!, now: now, endConfirmed: { p, next in
                ends[p].map { $0.at >= labelsRead && $0.high <= next } ?? false
            }, into: &sink)
            runner.runner.logUndecodableLabels(pipeline.counters.labelDeadLetters - undecodable, topic: labels!.topic)
            logOutOfOrder()
        } else {
            runs = try pipeline.processGlobal(merging: &merge, now: now, into: &sink)
        }
        if runs > 0 {
            dirty = true
            runner.runner.metrics?.outputsWritten(pipeline, seen: &seen)  // [ops] drift, alerts, models, global windows, labels
            for line in pipeline.takeNewCalibrations() { runner.logger.info("gate.calibrate: \(line)") }
        }
        try applyBackPressure()
        runner.metrics?.globalStep(heldBytes: merge.heldBytes, skippedDuplicates: merge.skippedDuplicates)
        reportLag()
        try broadcastWeights(force: false)
        producer.poll()
        if let fatal = producer.fatalError { throw fatal }
        return read > 0 || runs > 0
    }

    /// Label partitions at their end whose end must be confirmed before events pass them: a
    /// high-watermark query each, at most every `labelEndCheckInterval` (``GlobalLabelMerge``).
    /// Caught-up task partitions with nothing held, while labels wait: their source's high
    /// watermark, at the same pace (``GlobalInputMerge/labelFrontier(endConfirmed:)``).
    private func confirmLabelEnds(now: Int64) {
        let ends = labels!.endsToConfirm(eventsWaiting: merge.heldBytes > 0)
        let labelsRead = labels!.lastLabelRead
        let idle = labels!.held > 0 ? merge.caughtUpIdle.filter { p in sourceEnds[p].map { $0.at < labelsRead } ?? true } : []
        guard !ends.isEmpty || !idle.isEmpty, now - lastEndCheck >= endCheckMs else { return }
        lastEndCheck = now
        let topic = labels!.topic
        for p in ends {
            guard let w = try? consumer.watermarks(TopicPartition(topic: topic, partition: p), timeout: .milliseconds(500)) else { continue }
            labels!.confirmEnd(partition: p, high: w.high, at: now)
        }
        for p in idle {
            guard let w = try? consumer.watermarks(TopicPartition(topic: sourceTopic, partition: p), timeout: .milliseconds(500)) else { continue }
            sourceEnds[p] = (w.high, now)
        }
    }

    /// [ops] Every 2 s, from the last fetch responses (no request): the lag of `<name>.global`
    /// (batches not yet wholly processed, held ones included) and of the label topic (labels not
    /// yet applied), and the labels held (`weir_consumer_lag`, `weir_labels_held`).
    private func reportLag() {
        guard let metrics = runner.runner.metrics, ContinuousClock().now - lastLag >= .seconds(2) else { return }
        lastLag = ContinuousClock().now
        let (resume, start) = (merge.resumeOffsets, startOffsets)
        metrics.setLag(consumer.cachedLag(topic: topic, (0..<Int32(merge.partitions)).lazy.compactMap { p in (resume[p] ?? start[p]).map { (p, $0) } }),
                       topic: topic)
        guard let labels else { return }
        runner.runner.reportLabels(topic: labels.topic, partitions: 0..<Int32(labels.partitions), next: labels.nextToApply, held: labels.held, consumer: consumer)
    }

    /// At most every 10 s: how many events went ahead of labels stamped before them (the orders
    /// disagreed) and how many labels were applied past the hold's bounds since the last report.
    private func logOutOfOrder() {
        let l = labels!
        guard (l.eventsForced, l.forced) != forcedLogged, ContinuousClock().now - lastForcedLog >= .seconds(10) else { return }
        lastForcedLog = ContinuousClock().now
        runner.logger.warning("label topic \(l.topic): \(l.eventsForced - forcedLogged.events) events went ahead of labels stamped before them (their event times and message timestamps disagree across partitions) and \(l.forced - forcedLogged.labels) labels were applied past the hold's bounds (held \(runner.options.labelMaxHold), or over \(runner.options.labelHoldCapacity) in a partition); such labels may join later than with one instance, or not at all",
                              metadata: ["events_forced": "\(l.eventsForced)", "labels_forced": "\(l.forced)"])
        forcedLogged = (l.eventsForced, l.forced)
    }

    private func applyBackPressure() throws {
        let wasPaused = !backPressure.paused.isEmpty
        let change = backPressure.observe(heldBytes: merge.heldBytes, limit: maxHeldBytes, holding: Set(merge.partitionsHolding))
        if !change.pause.isEmpty {
            try consumer.pause(change.pause.sorted().map { TopicPartition(topic: topic, partition: $0) })
            if !wasPaused {
                runner.logger.warning("global stage holds \(StateBudget.size(merge.heldBytes)) (limit \(StateBudget.size(maxHeldBytes)), --global-max-held-bytes) waiting for a task that has not caught up; pausing the partitions of \(topic) it holds")
            }
        }
        if !change.resume.isEmpty { try consumer.resume(change.resume.sorted().map { TopicPartition(topic: topic, partition: $0) }) }
    }

    /// Sends the champion's weights when it learned or processed events since the last broadcast
    /// and the interval passed (the tasks' flow control reads how far it got).
    private func broadcastWeights(force: Bool) throws {
        guard let model = pipeline.model else { return }
        let clock = ContinuousClock()
        let covered = merge.processedSourceOffset
        guard force || (clock.now - lastWeights >= weightsInterval && (model.labelsLearned != weightsLabels || covered != weightsCovered)) else { return }
        lastWeights = clock.now
        weightsLabels = model.labelsLearned
        weightsCovered = covered
        var weights = model.weights(topology: pipeline.compiled.spec.name, producedAtMs: KafkaRunner.nowMs())
        weights.covered = covered
        let bytes = weights.encoded()
        try producer.send(to: weightsTopic, partition: 0, key: Array("weights".utf8), value: bytes)
    }

    /// A bounded run's end: every task ended (their final watermarks closed what `weir run --stop-at-end` closes).
    func finish() throws {
        try pipeline.settle(into: &sink)
        runner.runner.metrics?.outputsWritten(pipeline, seen: &seen)
        try broadcastWeights(force: true)
        dirty = true
    }

    /// Claims the global changelog after a restore: the restored state checkpointed at once, so
    /// the previous holder, if it was paused past its session and still runs, finds a newer
    /// checkpoint of another owner before its next one and is fenced (the same claim as a
    /// task's, ``TaskSet/claim(_:_:)``). Throws ``CheckpointError/fenced(topology:ownEpoch:newerOwner:newerEpoch:)``
    /// when that holder wrote since the restore read the changelog.
    func claim() throws {
        guard coordinator.store != nil, coordinator.epoch > 0 else { return }
        dirty = true
        try checkpoint()
    }

    /// Outputs acknowledged, then the state and the `<name>.global` offsets it covers (exactly
    /// once: committed with them, then the next transaction begins; on a failure it is aborted).
    /// Nothing processed since the last one: the outputs only. `periodic` (at least once): the
    /// checkpoint's records are confirmed by the next checkpoint (the hand-over's and the stop's
    /// wait for theirs).
    func checkpoint(periodic: Bool = false) throws {
        lastCheckpoint = ContinuousClock().now
        guard coordinator.store != nil, dirty else {
            try coordinator.flushDelivered()
            return
        }
        do {
            try pipeline.settle(into: &sink)
        } catch {
            coordinator.abort()
            throw error
        }
        runner.runner.metrics?.outputsWritten(pipeline, seen: &seen)  // [ops] records judged in the background, settled
        try coordinator.checkpoint(pipeline, offsets: merge.resumeOffsets, labelOffsets: labels?.processed ?? [:], sink: &sink, awaitDelivery: !periodic,
                                   scope: .globalStage(processed: merge.processedSourceOffset), owning: Set(0..<Int32(merge.partitions)))
        dirty = false
    }

    /// Stops reading; exactly once, the open transaction (what followed the last checkpoint) is aborted.
    func close() {
        consumer.onEvent = nil
        // The lag series of what this instance no longer reads go away.
        runner.runner.metrics?.setLag([:], topic: topic)
        if let labels {
            runner.runner.metrics?.setLag([:], topic: labels.topic)
            runner.runner.metrics?.setLabelsHeld(0)
        }
        coordinator.abort()
        consumer.close()
        producer.close(timeout: .seconds(5))
    }
}

/// The global stage's back-pressure on `<name>.global`, as transitions (no I/O): past `limit`
/// bytes held in the merge, the partitions holding batches are paused; below half of it every
/// paused partition is resumed. A paused partition whose held batches ran out while the others
/// still hold too much is resumed at once: the merge may wait for that partition's next batch
/// (its frontier), and with it paused nothing held could be processed, so nothing would drop
/// below the limit. Before 2026-12-07 the partitions paused first stayed paused until then:
/// `weir run --partitioned --stop-at-end` under serving load (ServeBench) never ended in 3 of 4
/// runs of b040c4a (0 of 5 with this rule, alternated), the stage a few events short, holding
/// ~200 MB with three partitions paused and thousands of their batches unread.
struct GlobalBackPressure: Sendable, Equatable {
    /// The partitions of `<name>.global` paused now.
    private(set) var paused: Set<Int32> = []

    /// What to pause and resume after the merge changed: `heldBytes` held in all, `holding` the
    /// partitions with batches held.
    mutating func observe(heldBytes: Int, limit: Int, holding: Set<Int32>) -> (pause: Set<Int32>, resume: Set<Int32>) {
        if heldBytes < limit / 2 {
            defer { paused = [] }
            return ([], paused)
        }
        // Paused partitions that ran out come back whatever is held; past the limit the others
        // holding batches are paused.
        let resume = paused.subtracting(holding)
        let pause = heldBytes > limit ? holding.subtracting(paused) : []
        paused = paused.subtracting(resume).union(pause)
        return (pause, resume)
    }
}
