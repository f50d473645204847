import Foundation
import WeirKafka

/// `weir run`'s label-topic positions at start and after lost partitions, and its progress
/// reports (see ``TimestampMerge``).
extension KafkaRunner {
    /// Label partitions at start, after restoring `restored`: those it covers start at its label
    /// offsets; the others (a version-1 checkpoint has none) at the group's committed offsets, or
    /// without one where `from` says (the consumer's own reset policy is `fail` after a restore).
    func startLabels(from restored: Checkpoint, topic: String, partitions: Int, consumer: KafkaConsumer, labels: inout TimestampMerge) throws {
        consumer.setStartOffsets(restored.labelOffsets.map { TopicPartitionOffset(topic: topic, partition: $0.partition, offset: $0.offset) })
        for o in restored.labelOffsets { labels.labelProcessed[o.partition] = o.offset; labels.labelStarted[o.partition] = o.offset }
        let uncovered = (0..<Int32(partitions)).filter { restored.labelOffset(of: $0) == nil }.map { TopicPartition(topic: topic, partition: $0) }
        guard !uncovered.isEmpty else { return }
        let committed = try consumer.committed(uncovered)
        let fallback = options.from == .latest ? TopicPartitionOffset.end : TopicPartitionOffset.beginning
        let starts = uncovered.map { tp in
            TopicPartitionOffset(topic: topic, partition: tp.partition,
                                 offset: committed.first { $0.partition == tp.partition && $0.offset >= 0 }?.offset ?? fallback)
        }
        consumer.setStartOffsets(starts)
        logger.info("checkpoint epoch \(restored.epoch) has no offsets for label topic \(topic) partitions \(uncovered.map(\.partition)); starting them at \(starts.map { "\($0.partition)@\($0.offset)" }.joined(separator: ","))")
    }

    /// After lost partitions (`lost`: the label partitions among them), with the pipeline reset to
    /// `restored` (nil: to empty state): held label records are dropped and every label partition
    /// read so far goes back to the checkpoint's offset, or to where it started when the
    /// checkpoint does not cover it.
    func resumeLabels(from restored: Checkpoint?, lost: Set<Int32>, consumer: KafkaConsumer, labels: inout TimestampMerge) throws {
        let started = labels.labelStarted
        let touched = labels.labelAssigned.union(lost).union(started.keys)
        labels.reset()
        labels.labelProcessed = [:]
        labels.labelStarted = [:]
        var back: [TopicPartitionOffset] = [], later: [TopicPartitionOffset] = []
        for p in touched {
            guard let target = restored?.labelOffset(of: p) ?? started[p] else { continue }
            let tpo = TopicPartitionOffset(topic: labels.labelTopic, partition: p, offset: target)
            if labels.labelAssigned.contains(p) {
                back.append(tpo)
                labels.labelProcessed[p] = target
                labels.labelStarted[p] = target
            } else {
                later.append(tpo)
            }
        }
        consumer.setStartOffsets(later)
        if !back.isEmpty { try consumer.seek(back) }
    }

    /// [ops] Label records that did not decode (each is in the dead-letter topic with its reason
    /// and position); one instance's timestamp merge and the global stage report them alike.
    func logUndecodableLabels(_ count: Int, topic: String) {
        guard count > 0 else { return }
        logger.warning("\(count) undecodable label records (in the dead-letter topic)", metadata: ["topic": "\(topic)"])
    }

    /// [metrics] The label topic's lag per partition (`partitions`, each from the next offset
    /// to apply, `next`: held labels count; partitions with none known are left out) and the
    /// labels held; one instance's timestamp merge and the global stage report them alike.
    func reportLabels(topic: String, partitions: some Sequence<Int32>, next: (Int32) -> Int64?, held: Int, consumer: KafkaConsumer) {
        guard let metrics else { return }
        metrics.setLag(consumer.cachedLag(topic: topic, partitions.compactMap { p in next(p).map { (p, $0) } }), topic: topic)
        metrics.setLabelsHeld(held)
    }

    func progress(_ p: Pipeline, events: Int, since start: ContinuousClock.Instant, firstInput: ContinuousClock.Instant?,
                          clock: ContinuousClock, _ c: CheckpointCoordinator) -> RunProgress {
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let now = clock.now
        return RunProgress(seconds: seconds(now - start), activeSeconds: firstInput.map { seconds(now - $0) } ?? 0, events: events,
                           counters: p.counters, logLoss: p.model?.prequential.logLoss, accuracy: p.model?.prequential.accuracy,
                           modelSummary: Self.modelSummary(p), checkpoints: c.written, epoch: c.epoch)
    }

    /// The model's prequential metrics (``ModelStage/metricsSummary``), with a label topic
    /// followed by the labels joined, learned, unmatched, expired and undecodable.
    static func modelSummary(_ p: Pipeline) -> String? {
        p.model.map { m in
            guard p.labelTopic != nil else { return m.metricsSummary }
            let c = p.counters
            return m.metricsSummary + ", labels \(c.labelsJoined) joined (\(m.prequential.count) learned), \(c.labelsUnmatched) unmatched, \(c.labelsExpired) expired, \(c.labelDeadLetters) undecodable"
        }
    }
}
