import WeirKafka

/// Where each source and label partition of `weir run`'s consumer stands: the assignment
/// machine of ``KafkaRunner`` (see `docs/fault-tolerance.md`, "Runner state machines").
///
/// Events come from the consumer's rebalance callback (``assigned(source:labels:)``,
/// ``revoked(source:labels:)``, ``lost(source:labels:)``), its end-of-partition reports
/// (``reachedEnd(partition:offset:)``), the processing of a batch (``processed(_:through:)``) and
/// the run loop (``partitionsReadToEnd(drained:)``, ``resume(from:)``); transitions return the
/// ``Action``s the runner performs (timestamp-merge bookkeeping, readiness and metrics). The
/// machine does no I/O.
///
/// Per source partition: unassigned → ``Phase/reading`` (assigned) → ``Phase/atEnd`` (end
/// reported and processed up to it) → ``Phase/ended`` (bounded run: no longer holds the watermark
/// back); revoked → unassigned (after the hand-over checkpoint); lost → ``Phase/lost`` until the
/// fencing machine (``FencingStateMachine``) checked ownership and ``resume(from:)`` ran.
///
/// Invariants: ``processed`` (next offset per partition, what the pipeline's state covers) keeps
/// the partitions of the restored checkpoint that this instance has not been assigned yet (a
/// checkpoint covers them); a revoked partition leaves ``processed``, a lost one stays until the
/// resume; a lost partition stays in ``lostSource`` until the resume even when the group assigns
/// it again meanwhile (it then seeks back to the checkpoint with the rest).
/// Cost: ``processed(_:through:)`` is one dictionary update per run of one partition in a batch
/// (never per event); the rest runs per rebalance or per loop iteration.
struct AssignmentStateMachine {
    /// A source partition's lifecycle. (Per-partition keyed state, issue 16 item 1, adds
    /// `restoring` between assignment and reading.)
    enum Phase: Equatable { case unassigned, reading, atEnd, ended, lost }

    enum Action: Equatable {
        /// The timestamp merge forgets the positions of newly assigned partitions (label ones
        /// become assigned there).
        case resetPositions(source: [Int32], labels: [Int32])
        /// The timestamp merge drops the held records of revoked partitions.
        case dropHeld(source: Set<Int32>, labels: Set<Int32>)
        /// The timestamp merge no longer counts lost label partitions as assigned (their records
        /// and positions stay until the resume).
        case unassignLabels(Set<Int32>)
        /// Readiness and metrics: partitions assigned, revoked or lost; `count` assigned now
        /// (nil: the rebalance metric is not updated, as for lost partitions).
        case reportAssigned([Int32], count: Int)
        case reportRevoked([Int32], count: Int?)
    }

    /// Source partitions assigned now.
    private(set) var assigned = Set<Int32>()
    /// Next offset to process per source partition (what a checkpoint covers).
    private(set) var processed: [Int32: Int64]
    /// End offset reported per assigned source partition since its assignment.
    private(set) var endOffset: [Int32: Int64] = [:]
    /// Bounded runs: partitions read to their end that no longer hold the watermark back.
    private(set) var ended = Set<Int32>()
    /// Partitions taken by the group without a revocation, not yet resumed.
    private(set) var lostSource = Set<Int32>()
    private(set) var lostLabels = Set<Int32>()

    /// - Parameter restored: the offsets of the checkpoint the term started from.
    init(restored: [Checkpoint.SourceOffset] = []) {
        var p: [Int32: Int64] = [:]
        for o in restored { p[o.partition] = o.offset }
        processed = p
    }

    /// A lost partition is ``Phase/lost`` until the resume, even if assigned again meanwhile.
    func phase(of p: Int32) -> Phase {
        if lostSource.contains(p) { return .lost }
        guard assigned.contains(p) else { return .unassigned }
        if ended.contains(p) { return .ended }
        return isReadToEnd(p) ? .atEnd : .reading
    }

    private func isReadToEnd(_ p: Int32) -> Bool {
        endOffset[p].map { end in (processed[p] ?? end) >= end } ?? false
    }

    /// The group assigned partitions.
    mutating func assigned(source: [Int32], labels: [Int32]) -> [Action] {
        for p in source {
            assigned.insert(p)
            endOffset.removeValue(forKey: p)
        }
        return [.resetPositions(source: source, labels: labels), .reportAssigned(source, count: assigned.count)]
    }

    /// The group revokes partitions. Call after the hand-over checkpoint
    /// (``CheckpointStateMachine/handOver()``): it covered them; now they are forgotten.
    mutating func revoked(source: Set<Int32>, labels: Set<Int32>) -> [Action] {
        for p in source {
            assigned.remove(p)
            processed.removeValue(forKey: p)
            endOffset.removeValue(forKey: p)
        }
        return [.dropHeld(source: source, labels: labels), .reportRevoked(Array(source), count: assigned.count)]
    }

    /// The group took partitions without a revocation (missed session timeout). Nothing is
    /// committed for them until ``resume(from:)``; their offsets stay (the fencing check needs them).
    mutating func lost(source: [Int32], labels: [Int32]) -> [Action] {
        lostSource.formUnion(source)
        lostLabels.formUnion(labels)
        for p in source { assigned.remove(p) }
        return [.unassignLabels(Set(labels)), .reportRevoked(source, count: nil)]
    }

    /// The group refused a commit (``CheckpointError/groupFenced(_:)``): every partition this
    /// instance holds or covers counts as lost. `labelsHeld`: the label partitions assigned or
    /// covered (the timestamp merge keeps those positions).
    mutating func allLost(labelsHeld: Set<Int32>) {
        lostSource.formUnion(assigned)
        lostSource.formUnion(processed.keys)
        lostLabels.formUnion(labelsHeld)
    }

    /// End of partition reported at `offset` (the next offset to be written).
    mutating func reachedEnd(partition: Int32, offset: Int64) {
        endOffset[partition] = offset
    }

    /// The pipeline processed `partition` up to `next` (exclusive). Per run of one partition.
    @inline(__always)
    mutating func processed(_ partition: Int32, through next: Int64) {
        processed[partition] = max(processed[partition] ?? 0, next)
    }

    /// Bounded runs: assigned partitions newly read to their end (every fetched record processed;
    /// an empty one at once), in partition order; they are ``Phase/ended`` from now on and the
    /// runner marks them ended in the pipeline. None while `drained` is false (records held).
    ///
    /// `drained` also says that every record delivered was processed; librdkafka reports a
    /// partition's end after the records before it, so a partition with an end reported has
    /// been processed up to that end: its position moves there. The offsets between its last
    /// record processed and its end hold nothing the pipeline is given: a tombstone (no value),
    /// a transaction's commit marker, records of an aborted transaction (`read_committed`).
    /// Before 2026-12-07 such a partition never counted as read to its end, and a bounded run
    /// whose partition ended in a tombstone (or, on a Kafka broker, a commit marker) never ended.
    mutating func partitionsReadToEnd(drained: Bool) -> [Int32] {
        guard drained else { return [] }
        for (p, end) in endOffset where assigned.contains(p) && !lostSource.contains(p) {
            processed[p] = max(processed[p] ?? end, end)
        }
        var out: [Int32] = []
        for p in assigned.sorted() where !ended.contains(p) && isReadToEnd(p) {
            ended.insert(p)
            out.append(p)
        }
        return out
    }

    /// Bounded runs: every assigned partition is read to its end, nothing was read in the last
    /// poll and nothing is held (`drained`): the run is complete.
    func boundedRunComplete(sawInput: Bool, drained: Bool) -> Bool {
        !assigned.isEmpty && !sawInput && drained && assigned.allSatisfy(isReadToEnd)
    }

    /// Lag per assigned partition: high watermark minus the next offset to process (the low
    /// watermark when nothing was processed); partitions without watermarks are left out.
    func lag(watermarks: (Int32) -> (low: Int64, high: Int64)?) -> [Int32: Int64] {
        var lag: [Int32: Int64] = [:]
        for p in assigned {
            guard let w = watermarks(p) else { continue }
            lag[p] = KafkaConsumer.lag(watermarks: w, next: processed[p])
        }
        return lag
    }

    /// Where the partitions go after the lost ones were found not taken over (the pipeline is
    /// reset to `checkpoint`, nil: empty state): every checkpointed offset becomes a start offset
    /// (`start`); the offsets of assigned and lost partitions become the processed positions, and
    /// assigned partitions seek back to them (`seek`). Clears the lost sets.
    mutating func resume(from checkpoint: [Checkpoint.SourceOffset]?) -> (start: [Checkpoint.SourceOffset], seek: [Checkpoint.SourceOffset]) {
        processed = [:]
        var seek: [Checkpoint.SourceOffset] = []
        for o in checkpoint ?? [] where assigned.contains(o.partition) || lostSource.contains(o.partition) {
            processed[o.partition] = o.offset
            if assigned.contains(o.partition) { seek.append(o) }
        }
        lostSource.removeAll()
        lostLabels.removeAll()
        // The partitions go back to the checkpoint: ends reported before count no more (each is
        // reported again when read to it).
        endOffset.removeAll()
        return (checkpoint ?? [], seek)
    }
}
