/// The global stage's input as it arrives from `<name>.global` (`docs/scaling.md`): the tasks'
/// batches held per task partition and handed out in the order one instance with
/// `source.order: timestamp` reads the source: ascending event time, ties to the lower
/// partition, each task's own order kept (the rule of ``TimestampMerge`` on message
/// timestamps, with the event time the task decoded).
///
/// A task partition with nothing held blocks the merge (its next event may be older than any
/// held) unless the newest batch of it said ``GlobalBatchFormat/Flags/caughtUp`` (the task had
/// read its source to the end: what is produced later is stamped later) or
/// ``GlobalBatchFormat/Flags/ended``. Events a task sends again after it restarted from its
/// checkpoint (source offsets at or below the newest one handed out for that partition, when
/// they reach the head: the earlier copy may still be held) are skipped, so the model and the
/// monitors learn from each source event once.
///
/// Invariants: a batch is held until every event of it was handed out (``advance(_:to:)``);
/// ``resumeOffsets`` is, per partition, the `<name>.global` offset of the oldest batch still
/// held (or the one after the newest received), so a restart reads again exactly what was not
/// finished and skips what was. No I/O: the runner feeds it and performs what it returns.
/// - Complexity: ``next()`` is O(partitions) plus the events of the run; one allocation per
///   batch held (its bytes), none per event.
public struct GlobalInputMerge {
    /// One batch held: its bytes (owned) and where it came from.
    final class Held {
        let storage: UnsafeMutableRawBufferPointer
        let reader: GlobalBatchReader
        /// Its offset in `<name>.global`.
        let offset: Int64

        init(_ bytes: UnsafeRawBufferPointer, offset: Int64) throws(GlobalBatchError) {
            storage = .allocate(byteCount: max(1, bytes.count), alignment: 8)
            storage.copyMemory(from: bytes)
            do {
                reader = try GlobalBatchReader(UnsafeRawBufferPointer(rebasing: storage[0..<bytes.count]))
            } catch {
                storage.deallocate()
                throw error
            }
            self.offset = offset
        }

        deinit { storage.deallocate() }
    }

    /// What to process next: events `range` of the held batch of task partition `partition`
    /// (``batch(_:)``). An empty range at the batch's start or end still matters: it opens the
    /// batch (category names) or closes it (watermark, trailing dead letters).
    public struct Run: Equatable, Sendable {
        public var partition: Int32
        public var range: Range<Int>
    }

    /// A partition's head batch as plain values: its reader (nil: nothing held), the next event
    /// to hand out, and whether its first part (category names) was handed out. ``next()`` scans
    /// these, so a call touches (retains) no held object.
    struct Cursor {
        var reader: GlobalBatchReader?
        var next = 0
        var opened = false
    }

    public let partitions: Int
    private var queues: [[Held]]
    private var heads: [Int]
    /// Per partition, its head batch (`queues[p][heads[p]]`) as a ``Cursor``.
    private var cursors: [Cursor]
    /// Per partition, the flags of the newest batch received.
    private var newestFlags: [GlobalBatchFormat.Flags]
    /// Per partition, the next `<name>.global` offset expected (one past the newest received).
    private var received: [Int64?]
    /// Per partition, the newest source offset handed out (-1: none).
    public private(set) var processedSourceOffset: [Int64]
    /// Per partition, the task's source position its newest batch said (version 5: the next
    /// offset it reads, dead letters included; nil: not said).
    private var newestReadThrough: [Int64?]
    /// Bytes of the batches held (for back-pressure).
    public private(set) var heldBytes = 0
    /// Events skipped as already processed (sent again by a restarted task).
    public private(set) var skippedDuplicates = 0

    /// - Parameter processed: per partition, the newest source offset already processed (from
    ///   the global stage's checkpoint; -1 or missing: none).
    public init(partitions: Int, processed: [Int32: Int64] = [:]) {
        self.partitions = partitions
        queues = Array(repeating: [], count: partitions)
        heads = Array(repeating: 0, count: partitions)
        cursors = Array(repeating: Cursor(), count: partitions)
        newestFlags = Array(repeating: [], count: partitions)
        received = Array(repeating: nil, count: partitions)
        processedSourceOffset = (0..<partitions).map { processed[Int32($0)] ?? -1 }
        newestReadThrough = Array(repeating: nil, count: partitions)
    }

    /// Why a message of `<name>.global` was refused.
    public enum InputError: Error, Equatable, CustomStringConvertible {
        case batch(partition: Int32, offset: Int64, GlobalBatchError)
        /// The batch names another task partition than the one it was read from.
        case wrongPartition(partition: Int32, offset: Int64, names: Int32)
        public var description: String {
            switch self {
            case let .batch(p, o, e): return "\(e) (partition \(p), offset \(o))"
            case let .wrongPartition(p, o, n): return "batch at partition \(p), offset \(o) names task partition \(n)"
            }
        }
    }

    /// Holds one message of `<name>.global` read from `partition` at `offset`.
    /// - Throws: ``InputError`` (the message is not a global batch of this partition).
    public mutating func add(partition: Int32, offset: Int64, bytes: UnsafeRawBufferPointer) throws(InputError) {
        precondition(partition >= 0 && Int(partition) < partitions, "partition \(partition) of \(partitions)")
        let held: Held
        do { held = try Held(bytes, offset: offset) } catch { throw .batch(partition: partition, offset: offset, error) }
        guard held.reader.partition == partition else {
            throw .wrongPartition(partition: partition, offset: offset, names: held.reader.partition)
        }
        let p = Int(partition)
        let r = held.reader
        queues[p].append(held)
        if cursors[p].reader == nil { cursors[p] = Cursor(reader: r) }
        newestFlags[p] = r.flags
        if let through = r.readThrough { newestReadThrough[p] = through }
        received[p] = offset + 1
        heldBytes += bytes.count
    }

    /// The held batch of `partition` a ``Run`` refers to (valid until ``advance(_:to:)`` finishes it).
    public func batch(_ partition: Int32) -> GlobalBatchReader { cursors[Int(partition)].reader! }

    /// Whether the global stage must wait for more of `p` before merging past it.
    private func blocks(_ p: Int) -> Bool {
        cursors[p].reader == nil && !newestFlags[p].contains(.caughtUp) && !newestFlags[p].contains(.ended)
    }

    /// Every partition said its run ended and nothing is held.
    public var allEnded: Bool { (0..<partitions).allSatisfy(ended) }

    /// The partitions that have not said their run ended, or still hold batches (what
    /// ``allEnded`` waits for).
    public var pendingPartitions: [Int32] { (0..<partitions).filter { !ended($0) }.map { Int32($0) } }

    private func ended(_ p: Int) -> Bool { newestFlags[p].contains(.ended) && heads[p] == queues[p].count }

    /// Whether `p`'s newest batch said the task had read its source to the end (or it ended).
    public func caughtUp(_ p: Int32) -> Bool { !newestFlags[Int(p)].intersection([.caughtUp, .ended]).isEmpty }

    /// An event's place against label-topic labels (``GlobalLabelMerge``): its message timestamp
    /// (version 4 batches), else its event time.
    @inline(__always) static func stamp(_ r: GlobalBatchReader, _ i: Int) -> Int64 { r.messageTimestamp(i) ?? r.eventTime(i) }

    /// With a label topic: no event still to come is stamped (``stamp(_:_:)``) before this; nil
    /// while a partition blocks the merge (its next event is unknown), or is caught up with
    /// nothing held and `endConfirmed` (given the partition and the task's source position: the
    /// next offset it reads as its newest batch said, else one past the newest source offset
    /// handed out, ``processedSourceOffset``) does not confirm that nothing of it is still on its way
    /// (the task's newest batch said it had read its source to the end, but events produced
    /// since may be in the task; ``caughtUpIdle``). `Int64.max` when nothing is held and every
    /// partition ended or is confirmed. Assumes stamps do not decrease within a task's partition
    /// (producer or log-append time), as the timestamp merge does.
    public func labelFrontier(endConfirmed: (_ partition: Int32, _ next: Int64) -> Bool) -> Int64? {
        var low = Int64.max
        for p in 0..<partitions {
            if blocks(p) { return nil }
            if let r = cursors[p].reader, cursors[p].next < r.count {
                low = min(low, Self.stamp(r, cursors[p].next))
            } else if !newestFlags[p].contains(.ended) && !endConfirmed(Int32(p), position(p)) {
                return nil
            }
        }
        return low
    }

    /// The next source offset task partition `p` reads: what its newest batch said when nothing
    /// of it is held (every batch handed out), else one past the newest offset handed out.
    private func position(_ p: Int) -> Int64 {
        let handedOut = processedSourceOffset[p] + 1
        guard cursors[p].reader == nil, let through = newestReadThrough[p] else { return handedOut }
        return max(handedOut, through)
    }

    /// Partitions whose task had read its source to the end, with nothing held (not ended): what
    /// ``labelFrontier(endConfirmed:)`` asks to confirm.
    public var caughtUpIdle: [Int32] {
        (0..<partitions).filter { p in
            !blocks(p) && !newestFlags[p].contains(.ended) && (cursors[p].reader.map { cursors[p].next >= $0.count } ?? true)
        }.map(Int32.init)
    }

    /// The next run to process, or nil when the merge must wait for input. With `bound` (a label
    /// topic's ``GlobalLabelMerge/eventBound``): only events stamped (``stamp(_:_:)``) at or
    /// before it; the run stops before the first event past it, and nil is returned when the
    /// next event in merge order is past it (it waits for the labels stamped before it).
    public mutating func next(through bound: Int64 = .max) -> Run? {
        // A batch whose events are all handed out (or that has none) is opened and closed first:
        // names, watermark and dead letters, in its task's order.
        for p in 0..<partitions {
            guard let r = cursors[p].reader else { continue }
            // Skip events processed before: a task re-sends from its checkpoint, possibly while
            // its earlier batches are still held here. A task's offsets rise, so at the head.
            while cursors[p].next < r.count && r.offset(cursors[p].next) <= processedSourceOffset[p] {
                cursors[p].next += 1
                skippedDuplicates += 1
            }
            let next = cursors[p].next
            if !cursors[p].opened && next > 0 { return Run(partition: Int32(p), range: 0..<0) }
            if next == r.count { return Run(partition: Int32(p), range: next..<next) }
        }
        for p in 0..<partitions where blocks(p) { return nil }
        var first: (time: Int64, p: Int)?
        var second: (time: Int64, p: Int)?
        for p in 0..<partitions {
            guard let r = cursors[p].reader else { continue }
            let k = (time: r.eventTime(cursors[p].next), p: p)
            if first == nil || (k.time, k.p) < (first!.time, first!.p) {
                second = first
                first = k
            } else if second == nil || (k.time, k.p) < (second!.time, second!.p) {
                second = k
            }
        }
        guard let f = first else { return nil }
        let r = cursors[f.p].reader!
        let start = cursors[f.p].next
        let bounded = bound != .max
        if bounded && Self.stamp(r, start) > bound { return nil }
        var end = start + 1
        // Up to the next partition's head: inclusive when this partition is the lower one.
        while end < r.count {
            let t = r.eventTime(end)
            if let s = second, s.p < f.p ? t >= s.time : t > s.time { break }
            if bounded && Self.stamp(r, end) > bound { break }
            end += 1
        }
        // A later head of this partition's own queue does not bound it: batches of one task are in order.
        return Run(partition: Int32(f.p), range: start..<end)
    }

    /// `run` was processed: its events are consumed; a batch with every event consumed (and
    /// closed with an empty run at its end) is released.
    public mutating func advance(_ run: Run) {
        let p = Int(run.partition)
        let r = cursors[p].reader!
        precondition(run.range.lowerBound == cursors[p].next || run.range == 0..<0, "runs of a batch in order")
        cursors[p].opened = true
        if run.range.isEmpty && run.range.lowerBound == r.count {
            // Closed: released.
            heldBytes -= r.bytes.count
            heads[p] += 1
            if heads[p] == queues[p].count {
                queues[p].removeAll(keepingCapacity: true)
                heads[p] = 0
                cursors[p] = Cursor()
            } else {
                if heads[p] >= 64 {
                    queues[p].removeFirst(heads[p])
                    heads[p] = 0
                }
                cursors[p] = Cursor(reader: queues[p][heads[p]].reader)
            }
            return
        }
        guard !run.range.isEmpty else { return }
        cursors[p].next = run.range.upperBound
        processedSourceOffset[p] = max(processedSourceOffset[p], r.offset(run.range.upperBound - 1))
    }

    /// Per partition, where to resume reading `<name>.global` after a restart: the oldest batch
    /// still held, or one past the newest received; partitions never read are absent.
    public var resumeOffsets: [Int32: Int64] {
        var out: [Int32: Int64] = [:]
        for p in 0..<partitions {
            if heads[p] < queues[p].count { out[Int32(p)] = queues[p][heads[p]].offset } else if let r = received[p] { out[Int32(p)] = r }
        }
        return out
    }

    /// Partitions with batches held (candidates for pausing under back-pressure).
    public var partitionsHolding: [Int32] { (0..<partitions).filter { heads[$0] < queues[$0].count }.map(Int32.init) }
}
