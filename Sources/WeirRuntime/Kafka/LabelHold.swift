import WeirCore

/// Records read from Kafka and held, in read order, with their message timestamps, until
/// ``LabelTopicMerge`` lets them through.
///
/// Bounds: beyond `capacity` held records the oldest goes through anyway, and so does one held
/// longer than `maxHoldMs` of wall-clock time (so a topic that neither delivers nor reports its
/// end, e.g. during a broker outage, cannot stall the other forever); both are counted in
/// ``forced``.
/// - Complexity: O(record bytes) per append and release; no allocation per record once the
///   buffers have grown to their working size.
struct HeldRecords {
    let capacity: Int
    let maxHoldMs: Int64
    private var bytes = ContiguousArray<UInt8>()
    /// Start of each held record in `bytes`, then the end of the last one.
    private var starts = ContiguousArray<Int>([0])
    private var partitions = ContiguousArray<Int32>()
    private var offsets = ContiguousArray<Int64>()
    private var timestamps = ContiguousArray<Int64>()
    private var arrivals = ContiguousArray<Int64>()
    private var head = 0
    /// Records let through before their turn (capacity or age).
    private(set) var forced = 0

    init(capacity: Int = 65_536, maxHoldMs: Int64 = 30_000) {
        self.capacity = max(1, capacity)
        self.maxHoldMs = max(0, maxHoldMs)
    }

    /// Records held now.
    var count: Int { partitions.count - head }
    var isEmpty: Bool { count == 0 }
    /// The oldest held record's timestamp (`Int64.max` when none is held).
    var headTimestamp: Int64 { head < partitions.count ? timestamps[head] : .max }

    /// Holds one record. A record without a timestamp (nil) counts as older than any.
    mutating func append(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        bytes.append(contentsOf: value)
        starts.append(bytes.count)
        partitions.append(partition)
        offsets.append(offset)
        timestamps.append(timestamp ?? .min)
        arrivals.append(nowMs)
    }

    /// Moves held records into `batch`, oldest first, while the oldest is due: its timestamp is
    /// below `bound` (at most `bound` when `inclusive`), or it is forced out (held longer than
    /// `maxHoldMs`, or more than `capacity` held). Stops when `batch` holds `max` records.
    /// - Returns: how many records were moved.
    mutating func release(upTo bound: Int64, inclusive: Bool, nowMs: Int64, into batch: inout InputBatch, max: Int = 1024) -> Int {
        var moved = 0
        while head < partitions.count && batch.count < max {
            let t = timestamps[head]
            if !(inclusive ? t <= bound : t < bound) {
                guard nowMs - arrivals[head] > maxHoldMs || count > capacity else { break }
                forced += 1
            }
            bytes.withUnsafeBytes { all in
                batch.append(UnsafeRawBufferPointer(rebasing: all[starts[head]..<starts[head + 1]]), partition: partitions[head], offset: offsets[head])
            }
            head += 1
            moved += 1
        }
        compact()
        return moved
    }

    /// Drops the held records of `dropped` partitions (revoked or lost: they are read again from
    /// the checkpointed offsets by whoever owns them next).
    mutating func remove(partitions dropped: Set<Int32>) {
        guard !dropped.isEmpty, !isEmpty else { return }
        var kept = HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs)
        kept.forced = forced
        bytes.withUnsafeBytes { all in
            for i in head..<partitions.count where !dropped.contains(partitions[i]) {
                kept.append(UnsafeRawBufferPointer(rebasing: all[starts[i]..<starts[i + 1]]), partition: partitions[i], offset: offsets[i],
                            timestamp: timestamps[i], nowMs: arrivals[i])
            }
        }
        self = kept
    }

    /// Drops every held record (e.g. before resuming from a checkpoint).
    mutating func removeAll() {
        head = partitions.count
        compact()
    }

    /// Reclaims released records once they are at least half of the buffers.
    private mutating func compact() {
        guard head > 0 else { return }
        if head == partitions.count {
            bytes.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            starts.append(0)
            partitions.removeAll(keepingCapacity: true)
            offsets.removeAll(keepingCapacity: true)
            timestamps.removeAll(keepingCapacity: true)
            arrivals.removeAll(keepingCapacity: true)
            head = 0
            return
        }
        guard head * 2 >= partitions.count else { return }
        let base = starts[head]
        bytes.removeFirst(base)
        starts.removeFirst(head)
        for i in starts.indices { starts[i] -= base }
        partitions.removeFirst(head)
        offsets.removeFirst(head)
        timestamps.removeFirst(head)
        arrivals.removeFirst(head)
        head = 0
    }
}

/// How far one topic has been read, in Kafka message time: per partition the newest message
/// timestamp read, and whether the partition is at its end (end of partition reported and
/// nothing read since). ``frontier(assigned:)`` is the minimum over the assigned partitions
/// (`Int64.max` for one at its end): every record of the topic stamped before it has been read.
/// - Complexity: O(1) per message; ``frontier(assigned:)`` O(assigned partitions).
struct TopicClock {
    private var newest = ContiguousArray<Int64>()
    private var atEnd = ContiguousArray<Bool>()

    private mutating func ensure(_ p: Int) {
        while newest.count <= p {
            newest.append(.min)
            atEnd.append(false)
        }
    }

    /// A message of `partition` was read.
    @inline(__always)
    mutating func read(partition: Int32, timestamp: Int64?) {
        let p = Int(partition)
        guard p >= 0 else { return }
        if p >= newest.count { ensure(p) }
        if let t = timestamp, t > newest[p] { newest[p] = t }
        atEnd[p] = false
    }

    /// End of partition reported: everything in it has been read.
    mutating func reachedEnd(partition: Int32) {
        let p = Int(partition)
        guard p >= 0 else { return }
        ensure(p)
        atEnd[p] = true
    }

    /// Forgets a partition (assigned anew, or sought back to a checkpoint).
    mutating func reset(partition: Int32) {
        let p = Int(partition)
        guard p >= 0, p < newest.count else { return }
        newest[p] = .min
        atEnd[p] = false
    }

    /// The time every assigned partition has been read past: `Int64.min` while one has read
    /// nothing and is not at its end; `Int64.max` when none is assigned.
    func frontier(assigned: Set<Int32>) -> Int64 {
        var v = Int64.max
        for partition in assigned {
            let p = Int(partition)
            guard p < newest.count else { return .min }
            if !atEnd[p] { v = min(v, newest[p]) }
        }
        return v
    }
}

/// `weir run` with `model.label_topic`: merges the source topic and the label topic in Kafka
/// message-timestamp order, so the pipeline sees events and labels in the order they were
/// produced whatever order librdkafka fetched them in.
///
/// One consumer reads both topics and interleaves their fetches freely (the small label records
/// are often read far ahead of the events, or the reverse while catching up a backlog). The label
/// joiner counts a label whose event is not pending as unmatched, and expires events by event
/// time, so the fetch order would decide which labels join. Instead, as Kafka Streams
/// synchronises the partitions of a task, both are held (``HeldRecords``) and:
/// - the oldest held event goes to the pipeline once every label stamped before it has been
///   read: its timestamp is at most the label topic's ``TopicClock/frontier(assigned:)`` and at
///   most the oldest held label's (events first on equal timestamps: a label produced in the
///   same millisecond as its event joins it);
/// - the oldest held label goes once every event stamped at or before it has been scored: its
///   timestamp is below the source frontier and below the oldest held event's.
/// A partition at its end does not hold the other topic back, so a live stream adds no delay.
/// Release is in read order per topic, so the offsets a checkpoint records (next offset after
/// the last record processed per partition) never skip a held record.
struct LabelTopicMerge {
    enum Step { case events, labels }

    let labelTopic: String
    var events: HeldRecords
    var labels: HeldRecords
    var sourceClock = TopicClock()
    var labelClock = TopicClock()
    /// Label partitions: next offset to apply (what the pipeline's state covers; set to the first
    /// offset read when a partition starts, so a checkpoint covers every label partition read),
    /// first offset read since assignment, assignment, lost ones and reported ends.
    var labelProcessed: [Int32: Int64] = [:]
    var labelStarted: [Int32: Int64] = [:]
    var labelAssigned = Set<Int32>()
    var labelLost = Set<Int32>()
    var labelEnd: [Int32: Int64] = [:]
    var labelBatch = InputBatch(capacity: 1024)

    init(labelTopic: String, capacity: Int, maxHoldMs: Int64) {
        self.labelTopic = labelTopic
        events = HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs)
        labels = HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs)
    }

    /// An event was read.
    @inline(__always)
    mutating func readEvent(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        sourceClock.read(partition: partition, timestamp: timestamp)
        events.append(value, partition: partition, offset: offset, timestamp: timestamp, nowMs: nowMs)
    }

    /// A label record was read.
    mutating func readLabel(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        if labelProcessed[partition] == nil { labelProcessed[partition] = offset }
        if labelStarted[partition] == nil { labelStarted[partition] = offset }
        labelClock.read(partition: partition, timestamp: timestamp)
        labels.append(value, partition: partition, offset: offset, timestamp: timestamp, nowMs: nowMs)
    }

    /// The next run of records that may be processed: events into `batch` (``Step/events``) or
    /// labels into ``labelBatch`` (``Step/labels``); nil when both must wait for more input.
    mutating func next(sourceAssigned: Set<Int32>, nowMs: Int64, into batch: inout InputBatch) -> Step? {
        let labelBound = min(labelClock.frontier(assigned: labelAssigned), labels.headTimestamp)
        if events.release(upTo: labelBound, inclusive: true, nowMs: nowMs, into: &batch) > 0 { return .events }
        let eventBound = min(sourceClock.frontier(assigned: sourceAssigned), events.headTimestamp)
        labelBatch.removeAll()
        if labels.release(upTo: eventBound, inclusive: false, nowMs: nowMs, into: &labelBatch) > 0 { return .labels }
        return nil
    }

    /// ``labelBatch`` was applied to the pipeline.
    mutating func labelsApplied() {
        for i in 0..<labelBatch.count {
            let p = labelBatch.partitions[i]
            labelProcessed[p] = max(labelProcessed[p] ?? 0, labelBatch.offsets[i] + 1)
        }
        labelBatch.removeAll()
    }

    /// Every assigned label partition is applied up to its reported end (nothing held).
    var labelsAtEnd: Bool {
        labels.isEmpty && labelAssigned.allSatisfy { p in labelEnd[p].map { end in (labelProcessed[p] ?? end) >= end } ?? false }
    }

    /// Source partitions revoked or lost: their held events go (read again by the next owner).
    mutating func dropSource(_ partitions: Set<Int32>) {
        events.remove(partitions: partitions)
        for p in partitions { sourceClock.reset(partition: p) }
    }

    /// Label partitions revoked or lost: forgotten, with their held records.
    mutating func dropLabels(_ partitions: Set<Int32>) {
        labelAssigned.subtract(partitions)
        for p in partitions {
            labelProcessed.removeValue(forKey: p)
            labelStarted.removeValue(forKey: p)
            labelEnd.removeValue(forKey: p)
            labelClock.reset(partition: p)
        }
        labels.remove(partitions: partitions)
    }

    /// Everything held is dropped and both clocks restart (the state goes back to a checkpoint).
    mutating func reset() {
        events.removeAll()
        labels.removeAll()
        sourceClock = TopicClock()
        labelClock = TopicClock()
    }
}
