import WeirCore

/// Records read from Kafka and held, in read order, with their message timestamps, until
/// ``TimestampMerge`` lets them through.
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
    /// The oldest held record's offset (nil when none is held).
    var headOffset: Int64? { head < partitions.count ? offsets[head] : nil }
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
/// timestamp read, the next offset to read, and whether the partition is at its end (end of
/// partition reported and nothing read since) and when that was last confirmed.
///
/// An end-of-partition report alone does not prove that nothing was appended since: librdkafka
/// may not fetch a partition that reported its end again for a second or more, while it goes on
/// fetching the other topic (measured on the embedded broker: labels appended 1 s before a batch
/// of events were read after it). So a partition at its end counts as read past everything only
/// for records read before its end was confirmed (``confirmEnd(partition:high:at:)``, from a
/// high-watermark query issued after those records were read).
/// - Complexity: O(1) per message and per ``position(_:readBefore:)``.
struct TopicClock {
    private var newest = ContiguousArray<Int64>()
    private var next = ContiguousArray<Int64>()
    private var atEnd = ContiguousArray<Bool>()
    private var confirmedAt = ContiguousArray<Int64>()

    private mutating func ensure(_ p: Int) {
        while newest.count <= p {
            newest.append(.min)
            next.append(-1)
            atEnd.append(false)
            confirmedAt.append(.min)
        }
    }

    /// A message of `partition` was read.
    @inline(__always)
    mutating func read(partition: Int32, offset: Int64, timestamp: Int64?) {
        let p = Int(partition)
        guard p >= 0 else { return }
        if p >= newest.count { ensure(p) }
        if let t = timestamp, t > newest[p] { newest[p] = t }
        next[p] = offset + 1
        atEnd[p] = false
    }

    /// End of partition reported at `offset` (the next offset to read).
    mutating func reachedEnd(partition: Int32, offset: Int64) {
        let p = Int(partition)
        guard p >= 0 else { return }
        ensure(p)
        atEnd[p] = true
        next[p] = offset
        confirmedAt[p] = .min
    }

    /// A high-watermark query issued at wall time `at` (ms) found `high`: at or below the next
    /// offset to read, the end is confirmed for everything read before `at`; above it, records were
    /// appended since the end was reported (the partition is no longer at its end).
    mutating func confirmEnd(partition: Int32, high: Int64, at: Int64) {
        let p = Int(partition)
        guard p >= 0, p < newest.count, atEnd[p] else { return }
        if high <= next[p] { confirmedAt[p] = at } else { atEnd[p] = false }
    }

    /// At its end, but not confirmed for records read up to `readBefore`.
    func needsConfirmation(_ partition: Int32, readBefore: Int64) -> Bool {
        let p = Int(partition)
        return p >= 0 && p < newest.count && atEnd[p] && confirmedAt[p] < readBefore
    }

    /// Forgets a partition (assigned anew, or sought back to a checkpoint).
    mutating func reset(partition: Int32) {
        let p = Int(partition)
        guard p >= 0, p < newest.count else { return }
        newest[p] = .min
        next[p] = -1
        atEnd[p] = false
        confirmedAt[p] = .min
    }

    /// For records read before wall time `readBefore`: the newest timestamp read from `partition`
    /// (every record still to be read there is stamped at or after it; `Int64.min` before the first
    /// read), or nil when the partition is at its end, confirmed after those records were read.
    func position(_ partition: Int32, readBefore: Int64) -> Int64? {
        let p = Int(partition)
        guard p >= 0, p < newest.count else { return .min }
        return atEnd[p] && confirmedAt[p] >= readBefore ? nil : newest[p]
    }
}

/// `weir run`'s merge in Kafka message-timestamp order: of the source partitions
/// (`source.order: timestamp`, the default) and, with `model.label_topic`, of the label topic's
/// too, so the pipeline sees events and labels in the order they were produced whatever order
/// librdkafka fetched them in. (Named `LabelTopicMerge` until it also served the source order.)
///
/// One consumer reads both topics and interleaves their fetches freely (the small label records
/// are often read far ahead of the events, or the reverse while catching up a backlog). The label
/// joiner counts a label whose event is not pending as unmatched, and expires events by event
/// time, so the fetch order would decide which labels join. Instead, as Kafka Streams
/// synchronises the partitions of a task, records are held per partition (``HeldRecords``) and
/// go to the pipeline in the order of (timestamp, events before labels, partition): a held
/// record goes once every assigned partition of both topics holds a later record or has read
/// past it (``TopicClock/position(_:readBefore:)``) or is at its end (confirmed after the held
/// records were read: ``endsToConfirm(sourceAssigned:)``). So a label joins its event whenever it
/// was produced after it (or in the same millisecond), and events are never scored ahead of
/// labels produced before them. A partition at its end holds nothing back, so a live stream adds
/// no delay; one that has read nothing yet holds everything until it reads or reports its end.
/// Release is in read order within a partition, so the offsets a checkpoint records (next offset
/// after the last record processed per partition) never skip a held record. With timestamps
/// non-decreasing within each partition (producer or log-append time) the order is the same for
/// every fetch interleaving.
struct TimestampMerge {
    enum Step { case events, labels }

    let labelTopic: String
    let capacity: Int
    let maxHoldMs: Int64
    /// Held records per source partition and per label partition (index = partition).
    private(set) var events: [HeldRecords] = []
    private(set) var labels: [HeldRecords] = []
    var sourceClock = TopicClock()
    var labelClock = TopicClock()
    /// Label partitions: next offset to apply (what the pipeline's state covers; set to the first
    /// offset read when a partition starts, so a checkpoint covers every label partition read),
    /// first offset read since assignment, assignment and reported ends (lost ones are the
    /// runner's ``AssignmentStateMachine/lostLabels``).
    var labelProcessed: [Int32: Int64] = [:]
    var labelStarted: [Int32: Int64] = [:]
    var labelAssigned = Set<Int32>()
    var labelEnd: [Int32: Int64] = [:]
    var labelBatch = InputBatch(capacity: 1024)
    /// Wall time (ms) of the newest read: ends must be confirmed after it.
    private(set) var lastRead: Int64 = .min

    /// - Parameters: capacity and maxHoldMs bound each partition's held records (see ``HeldRecords``).
    init(labelTopic: String, capacity: Int, maxHoldMs: Int64) {
        self.labelTopic = labelTopic
        self.capacity = capacity
        self.maxHoldMs = maxHoldMs
    }

    private static func hold(_ holds: inout [HeldRecords], _ partition: Int32, _ template: HeldRecords) -> Int {
        let p = Int(max(0, partition))
        while holds.count <= p { holds.append(template) }
        return p
    }

    /// An event was read.
    @inline(__always)
    mutating func readEvent(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        sourceClock.read(partition: partition, offset: offset, timestamp: timestamp)
        lastRead = max(lastRead, nowMs)
        let p = Int(partition) < events.count && partition >= 0 ? Int(partition) : Self.hold(&events, partition, HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs))
        events[p].append(value, partition: partition, offset: offset, timestamp: timestamp, nowMs: nowMs)
    }

    /// A label record was read.
    mutating func readLabel(_ value: UnsafeRawBufferPointer, partition: Int32, offset: Int64, timestamp: Int64?, nowMs: Int64) {
        if labelProcessed[partition] == nil { labelProcessed[partition] = offset }
        if labelStarted[partition] == nil { labelStarted[partition] = offset }
        labelClock.read(partition: partition, offset: offset, timestamp: timestamp)
        lastRead = max(lastRead, nowMs)
        let p = Self.hold(&labels, partition, HeldRecords(capacity: capacity, maxHoldMs: maxHoldMs))
        labels[p].append(value, partition: partition, offset: offset, timestamp: timestamp, nowMs: nowMs)
    }

    /// The next offset of label partition `p` to apply (lag metrics): after the last applied, or
    /// the first read; at its reported end when nothing was read; nil when unknown.
    func labelNext(_ p: Int32) -> Int64? { labelProcessed[p] ?? labelEnd[p] }

    /// Records held now, events and labels.
    var heldEvents: Int { events.reduce(0) { $0 + $1.count } }
    var heldLabels: Int { labels.reduce(0) { $0 + $1.count } }
    /// Records let through before their turn (a hold's capacity or age).
    var forced: Int { events.reduce(0) { $0 + $1.forced } + labels.reduce(0) { $0 + $1.forced } }

    /// Where a partition stands in the merge order: its oldest held record, or (nothing held)
    /// the newest timestamp read (records still unread come at or after it); nil when it is at
    /// its end with nothing held.
    struct Key: Comparable {
        var timestamp: Int64
        /// 0 events, 1 labels: events first on equal timestamps.
        var rank: Int
        var partition: Int32
        var held: Bool
        static func < (a: Key, b: Key) -> Bool {
            (a.timestamp, a.rank, a.partition) < (b.timestamp, b.rank, b.partition)
        }
        static func == (a: Key, b: Key) -> Bool { (a.timestamp, a.rank, a.partition) == (b.timestamp, b.rank, b.partition) }
    }

    private func key(_ holds: [HeldRecords], _ clock: TopicClock, _ p: Int32, rank: Int) -> Key? {
        if p >= 0 && Int(p) < holds.count && !holds[Int(p)].isEmpty {
            return Key(timestamp: holds[Int(p)].headTimestamp, rank: rank, partition: p, held: true)
        }
        return clock.position(p, readBefore: lastRead).map { Key(timestamp: $0, rank: rank, partition: p, held: false) }
    }

    /// Partitions at their end whose end must be confirmed (``TopicClock/confirmEnd(partition:high:at:)``)
    /// before held records can pass them: (label topic?, partition). Empty when nothing is held.
    func endsToConfirm(sourceAssigned: Set<Int32>) -> [(label: Bool, partition: Int32)] {
        guard heldEvents + heldLabels > 0 else { return [] }
        return sourceAssigned.filter { sourceClock.needsConfirmation($0, readBefore: lastRead) }.map { (false, $0) }
            + labelAssigned.filter { labelClock.needsConfirmation($0, readBefore: lastRead) }.map { (true, $0) }
    }

    /// The next run of records that may be processed: events into `batch` (``Step/events``) or
    /// labels into ``labelBatch`` (``Step/labels``); nil when everything must wait for more input.
    /// - Complexity: O(assigned partitions) plus the records moved.
    ///
    /// Events are gathered across partitions, in merge order, until `batch` holds `maxBatch`
    /// records or the next due record is a label or nothing is due: one pipeline batch per call,
    /// not one per run of a single partition (which, with partitions interleaved at millisecond
    /// granularity, was a handful of records: the contract ran at 0.09 M events/s merged vs
    /// 0.55 M/s as fetched).
    mutating func next(sourceAssigned: Set<Int32>, nowMs: Int64, into batch: inout InputBatch, maxBatch: Int = 1024) -> Step? {
        var gathered = false
        while batch.count < maxBatch {
            guard let step = nextRun(sourceAssigned: sourceAssigned, nowMs: nowMs, into: &batch, eventsOnly: gathered) else { break }
            if case .labels = step { return .labels }
            gathered = true
        }
        return gathered ? .events : nil
    }

    /// One run of records: events of one partition up to the next partition's key, or labels;
    /// with `eventsOnly`, nil when labels are due first.
    private mutating func nextRun(sourceAssigned: Set<Int32>, nowMs: Int64, into batch: inout InputBatch, eventsOnly: Bool) -> Step? {
        var first: Key?, second: Key?
        func consider(_ k: Key?) {
            guard let k else { return }
            if first == nil || k < first! { second = first; first = k } else if second == nil || k < second! { second = k }
        }
        for p in sourceAssigned { consider(key(events, sourceClock, p, rank: 0)) }
        for (i, h) in events.enumerated() where !h.isEmpty && !sourceAssigned.contains(Int32(i)) { consider(key(events, sourceClock, Int32(i), rank: 0)) }
        for p in labelAssigned { consider(key(labels, labelClock, p, rank: 1)) }
        for (i, h) in labels.enumerated() where !h.isEmpty && !labelAssigned.contains(Int32(i)) { consider(key(labels, labelClock, Int32(i), rank: 1)) }
        if eventsOnly, let f = first, f.rank == 1 { return nil }
        if !eventsOnly { labelBatch.removeAll() }
        if let f = first, f.held {
            // The oldest record is held: its partition goes up to the next partition's key.
            let bound = second?.timestamp ?? .max
            let inclusive = second.map { (f.rank, f.partition) < ($0.rank, $0.partition) } ?? true
            if f.rank == 0 {
                if events[Int(f.partition)].release(upTo: bound, inclusive: inclusive, nowMs: nowMs, into: &batch) > 0 { return .events }
            } else if labels[Int(f.partition)].release(upTo: bound, inclusive: inclusive, nowMs: nowMs, into: &labelBatch) > 0 {
                return .labels
            }
        }
        // Nothing is due: only records past a hold's bounds go (forced).
        for i in events.indices where !events[i].isEmpty {
            if events[i].release(upTo: .min, inclusive: false, nowMs: nowMs, into: &batch) > 0 { return .events }
        }
        for i in labels.indices where !eventsOnly && !labels[i].isEmpty {
            if labels[i].release(upTo: .min, inclusive: false, nowMs: nowMs, into: &labelBatch) > 0 { return .labels }
        }
        return nil
    }

    /// ``labelBatch`` was applied to the pipeline.
    mutating func labelsApplied() {
        labelBatch.advance(&labelProcessed)
        labelBatch.removeAll()
    }

    /// Every assigned label partition is applied up to its reported end, and no event is held.
    var drained: Bool {
        heldEvents == 0 && heldLabels == 0
            && labelAssigned.allSatisfy { p in labelEnd[p].map { end in (labelProcessed[p] ?? end) >= end } ?? false }
    }

    /// Source partitions revoked or lost: their held events go (read again by the next owner).
    mutating func dropSource(_ partitions: Set<Int32>) {
        for p in partitions {
            if Int(p) < events.count && p >= 0 { events[Int(p)].removeAll() }
            sourceClock.reset(partition: p)
        }
    }

    /// Label partitions revoked or lost: forgotten, with their held records.
    mutating func dropLabels(_ partitions: Set<Int32>) {
        labelAssigned.subtract(partitions)
        for p in partitions {
            labelProcessed.removeValue(forKey: p)
            labelStarted.removeValue(forKey: p)
            labelEnd.removeValue(forKey: p)
            labelClock.reset(partition: p)
            if Int(p) < labels.count && p >= 0 { labels[Int(p)].removeAll() }
        }
    }

    /// Everything held is dropped and both clocks restart (the state goes back to a checkpoint).
    mutating func reset() {
        for i in events.indices { events[i].removeAll() }
        for i in labels.indices { labels[i].removeAll() }
        sourceClock = TopicClock()
        labelClock = TopicClock()
    }
}

extension InputBatch {
    /// Moves `next` (per partition, the next offset after the last record applied: what a
    /// checkpoint records) past this batch's records, once the batch is applied.
    func advance(_ next: inout [Int32: Int64]) {
        for i in 0..<count { next[partitions[i]] = max(next[partitions[i]] ?? 0, offsets[i] + 1) }
    }
}
