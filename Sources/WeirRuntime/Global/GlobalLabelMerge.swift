import WeirCore

/// The label topic (`model.label_topic`) of a partitioned run, at the global stage
/// (`docs/scaling.md`): label records held per label partition and applied between the tasks'
/// events in the order of one instance's timestamp merge (``TimestampMerge``): by timestamp,
/// events before labels on equal timestamps, then by partition. An event's timestamp is its
/// Kafka message timestamp as its task read it (``GlobalBatchReader/messageTimestamp(_:)``),
/// so a label joins its event whenever it was produced after it, whatever the event times.
///
/// ``interleave(events:nowMs:process:apply:)`` drives the tasks' merge and the labels: events go
/// while no held or unread label is stamped before them (``eventBound``); held labels go while
/// every event still to come is stamped after them (``GlobalInputMerge/labelFrontier``) and no
/// other label partition may still hold an earlier one. A label partition that has read nothing
/// holds the events back until it reads or reports its end, and an end counts only once a
/// high-watermark query issued after the events were read confirms it (``endsToConfirm(eventsWaiting:)``,
/// ``TopicClock``), as in one instance. When the two orders disagree (the tasks' merge goes by
/// event time, labels by message time, and a partition's event stamped early sits behind
/// another's with an earlier event time), the next event goes first (``eventsForced``).
///
/// Invariants: labels of one partition are applied in offset order, so ``processed`` (per
/// partition, the next offset after the last label applied) is what a checkpoint records; held
/// labels are not covered and are read again after a restart. No I/O: the global stage feeds it
/// and performs what it returns.
/// Cost: per label, one copy into its hold and one into ``batch``; per step of the merge
/// O(label partitions); no allocation once the buffers have grown.
struct GlobalLabelMerge {
    let topic: String
    let partitions: Int
    private var holds: [HeldRecords]
    private var clock = TopicClock()
    /// Per partition, the next offset after the last label applied (a checkpoint's label offsets).
    private(set) var processed: [Int32: Int64]
    /// Per partition, the end offset it reported (bounded runs).
    private var ends: [Int32: Int64] = [:]
    /// Wall time (ms) of the newest read, labels or the tasks' batches: an end confirmed before
    /// it does not cover what was read then.
    private var lastRead = Int64.min
    /// Wall time (ms) of the newest label read: a task partition's end confirmed before it does
    /// not cover the events produced before those labels (``GlobalInputMerge/labelFrontier(endConfirmed:)``).
    private(set) var lastLabelRead = Int64.min
    /// The labels to apply next (``interleave(events:nowMs:process:apply:)``), reused.
    private(set) var batch = InputBatch(capacity: 1024)
    /// Events that went ahead of the label order because it disagreed with the tasks' merge.
    private(set) var eventsForced = 0

    /// - Parameters: capacity, maxHoldMs: per partition, the most labels held and the longest
    ///   hold (wall clock) before a label is applied anyway (``HeldRecords``).
    /// - Parameter processed: the checkpoint's label offsets.
    init(topic: String, partitions: Int, capacity: Int, maxHoldMs: Int64, processed: [Int32: Int64] = [:]) {
        self.topic = topic
        self.partitions = partitions
        holds = Array(repeating: HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs), count: partitions)
        self.processed = processed
    }

    /// Labels held now.
    var held: Int { holds.reduce(0) { $0 + $1.count } }
    /// Labels applied before their turn (a hold's capacity or age).
    var forced: Int { holds.reduce(0) { $0 + $1.forced } }

    /// The next offset of partition `p` to apply (lag metrics): after the last applied, else the
    /// oldest held, else the end it reported; nil when nothing is known (nothing read yet).
    func nextToApply(_ p: Int32) -> Int64? { processed[p] ?? holds[Int(p)].headOffset ?? ends[p] }

    /// Holds one label record of `partition` read at wall time `nowMs`.
    mutating func read(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        guard partition >= 0 && Int(partition) < partitions else { return }
        holds[Int(partition)].append(value, partition: partition, offset: offset, timestamp: timestamp, nowMs: nowMs)
        clock.read(partition: partition, offset: offset, timestamp: timestamp)
        lastRead = max(lastRead, nowMs)
        lastLabelRead = max(lastLabelRead, nowMs)
    }

    /// The tasks' batches were read at wall time `nowMs`.
    mutating func eventsRead(nowMs: Int64) { lastRead = max(lastRead, nowMs) }

    /// `partition` reported its end at `offset` (the next offset to read).
    mutating func reachedEnd(partition: Int32, offset: Int64) {
        ends[partition] = offset
        clock.reachedEnd(partition: partition, offset: offset)
    }

    /// A high-watermark query issued at wall time `at` found `high` (``TopicClock/confirmEnd(partition:high:at:)``).
    mutating func confirmEnd(partition: Int32, high: Int64, at: Int64) { clock.confirmEnd(partition: partition, high: high, at: at) }

    /// Partitions at their end whose end must be confirmed before events pass them; none unless
    /// events or labels wait.
    func endsToConfirm(eventsWaiting: Bool) -> [Int32] {
        guard eventsWaiting || held > 0 else { return [] }
        return (0..<Int32(partitions)).filter { clock.needsConfirmation($0, readBefore: lastRead) }
    }

    /// Where partition `p` stands: its oldest held label (held), or the newest timestamp read
    /// (labels still unread are stamped at or after it); nil when it is at its confirmed end
    /// with nothing held.
    private func key(_ p: Int) -> (time: Int64, held: Bool)? {
        if !holds[p].isEmpty { return (holds[p].headTimestamp, true) }
        return clock.position(Int32(p), readBefore: lastRead).map { ($0, false) }
    }

    /// Events stamped at or before this may be processed before every label not yet applied
    /// (`Int64.max`: every label partition is at its confirmed end with nothing held).
    var eventBound: Int64 {
        var low = Int64.max
        for p in 0..<partitions { if let k = key(p) { low = min(low, k.time) } }
        return low
    }

    /// Moves into ``batch`` the held labels due before the events' `frontier`, in (timestamp,
    /// partition) order, and those held past the hold's bounds; false when none is due.
    mutating func release(before frontier: Int64, nowMs: Int64) -> Bool {
        batch.removeAll()
        while batch.count < 1024 {
            var first: (time: Int64, p: Int, held: Bool)?, second: (time: Int64, p: Int)?
            for p in 0..<partitions {
                guard let k = key(p) else { continue }
                if first == nil || (k.time, p) < (first!.time, first!.p) {
                    if let f = first { second = (f.time, f.p) }
                    first = (k.time, p, k.held)
                } else if second == nil || (k.time, p) < (second!.time, second!.p) {
                    second = (k.time, p)
                }
            }
            guard let f = first, f.held, f.time < frontier else { break }
            // Up to the next partition's key (inclusive when this partition is the lower one)
            // and strictly before the events' frontier.
            var bound = frontier, inclusive = false
            if let s = second, s.time < frontier {
                bound = s.time
                inclusive = f.p < s.p
            }
            if holds[f.p].release(upTo: bound, inclusive: inclusive, nowMs: nowMs, into: &batch, max: 1024) == 0 { break }
        }
        if batch.count == 0 {
            // Nothing due: only labels past a hold's bounds go.
            for p in 0..<partitions where !holds[p].isEmpty {
                _ = holds[p].release(upTo: .min, inclusive: false, nowMs: nowMs, into: &batch, max: 1024)
            }
        }
        return batch.count > 0
    }

    /// ``batch`` was applied.
    mutating func applied() {
        batch.advance(&processed)
        batch.removeAll()
    }

    /// Every label partition reported its end and every label up to it is applied.
    var drained: Bool {
        held == 0 && (0..<Int32(partitions)).allSatisfy { p in ends[p].map { end in (processed[p] ?? end) >= end } ?? false }
    }

    /// One step of the global stage: event runs of `merge` and batches of labels, in the merged
    /// order, until both must wait for input. `process` gets each run's batch and events (as
    /// ``Pipeline/processGlobal(_:events:now:into:)``), `apply` each batch of labels (as
    /// ``Pipeline/processLabels(_:topic:into:)``). `endConfirmed` says whether a caught-up task
    /// partition with nothing held has nothing more on its way (``GlobalInputMerge/labelFrontier(endConfirmed:)``).
    /// Returns how many runs and label batches went.
    mutating func interleave(events merge: inout GlobalInputMerge, nowMs: Int64, endConfirmed: (_ partition: Int32, _ next: Int64) -> Bool = { _, _ in false },
                             process: (GlobalBatchReader, Range<Int>) throws -> Void, apply: (InputBatch) throws -> Void) rethrows -> Int {
        var steps = 0
        while true {
            let bound = eventBound
            if let run = merge.next(through: bound) {
                try process(merge.batch(run.partition), run.range)
                merge.advance(run)
                steps += 1
                continue
            }
            // Labels due before the events still to come; while a task's next events are unknown
            // (or may be on their way: no frontier), only labels held past the hold's bounds
            // (30 s, or a partition's capacity).
            let frontier = merge.labelFrontier(endConfirmed: endConfirmed)
            if release(before: frontier ?? .min, nowMs: nowMs) {
                try apply(batch)
                applied()
                steps += 1
                continue
            }
            // An event stamped within the bound waits behind one with an earlier event time
            // stamped past it, and the labels wait for the first: the orders disagree. The next
            // event in the tasks' merge goes (one, then the labels are looked at again).
            guard let frontier, frontier <= bound, var run = merge.next() else { break }
            if !run.range.isEmpty {
                run.range = run.range.lowerBound..<(run.range.lowerBound + 1)
                eventsForced += 1
            }
            try process(merge.batch(run.partition), run.range)
            merge.advance(run)
            steps += 1
        }
        return steps
    }
}
