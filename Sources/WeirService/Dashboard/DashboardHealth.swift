import Foundation

/// The source's consumption rate (the health strip's events/s), from score records: each names
/// its input record (`topic`, `partition`, `offset`) and its Kafka timestamp is when `weir run`
/// wrote it. Per source partition, the offsets advanced over the last ``window`` of wall-clock
/// time (by those timestamps) divided by that time, summed over partitions.
///
/// So it is the rate at which the topology consumed its source, dead-lettered events included
/// (offsets between two scored events count), not the rate at which the dashboard read, and a
/// thinned or late read gives the same figure. Pure (the clock is a parameter); bounded: per
/// source partition at most one sample per ``bucketMs`` within the window, plus one before it.
public struct SourceRate: Sendable, Equatable {
    /// The span the rate is averaged over, in milliseconds.
    public static let window: Int64 = 10_000
    /// Samples closer than this are merged (keeps memory bounded at any rate).
    public static let bucketMs: Int64 = 100

    /// The first and last source offset seen among the score records written in one bucket of time.
    struct Bucket: Sendable, Equatable {
        var slot: Int64
        var firstTime: Int64, firstOffset: Int64
        var lastTime: Int64, lastOffset: Int64
    }
    struct Source: Hashable, Sendable { var topic: String; var partition: Int }

    private var buckets: [Source: [Bucket]] = [:]

    public init() {}

    /// Buckets held over all partitions (the memory bound, for tests).
    var bucketCount: Int { buckets.values.reduce(0) { $0 + $1.count } }

    /// Whether any score record was recorded.
    public var isEmpty: Bool { buckets.isEmpty }

    /// Records one score record: its source position and its Kafka timestamp (epoch ms).
    public mutating func record(topic: String, partition: Int, offset: Int64, time: Int64) {
        let key = Source(topic: topic, partition: partition)
        var bs = buckets[key] ?? []
        let slot = time / Self.bucketMs
        var i = bs.count
        while i > 0 && bs[i - 1].slot > slot { i -= 1 }
        if i > 0 && bs[i - 1].slot == slot {
            var b = bs[i - 1]
            if offset < b.firstOffset { b.firstOffset = offset; b.firstTime = time }
            if offset > b.lastOffset { b.lastOffset = offset; b.lastTime = time }
            bs[i - 1] = b
        } else {
            bs.insert(Bucket(slot: slot, firstTime: time, firstOffset: offset, lastTime: time, lastOffset: offset), at: i)
        }
        // Keep the buckets of the newest window and one before it (the base of the rate).
        let horizon = (bs[bs.count - 1].lastTime - Self.window) / Self.bucketMs - 1
        var drop = 0
        while drop + 1 < bs.count && bs[drop + 1].slot < horizon { drop += 1 }
        if drop > 0 { bs.removeFirst(drop) }
        buckets[key] = bs
    }

    /// Source records consumed per second over the `window` before `now` (epoch ms): per
    /// partition, from the newest sample written at least `window` ago (else the first one seen)
    /// to the newest one, over the time from that base (at most `window`, at least 1 s) to `now`;
    /// 0 for a partition with nothing written within the window. Nil when nothing was recorded.
    public func perSecond(now: Int64) -> Double? {
        guard !buckets.isEmpty else { return nil }
        let start = now - Self.window
        var rate = 0.0
        for bs in buckets.values {
            guard let newest = bs.last, newest.lastTime > start else { continue }
            let newestOffset = bs.map(\.lastOffset).max() ?? newest.lastOffset
            let baseOffset: Int64, baseTime: Int64
            if let before = bs.last(where: { $0.lastTime <= start }) {
                baseOffset = before.lastOffset
                baseTime = start
            } else {
                baseOffset = bs[0].firstOffset
                baseTime = bs[0].firstTime
            }
            let seconds = max(1.0, Double(now - baseTime) / 1000)
            rate += Double(max(0, newestOffset - baseOffset)) / seconds
        }
        return rate
    }
}

/// The lag of the topology's consumer group on its source topic: per partition, the high
/// watermark (the last stable offset under `read_committed`) minus the group's committed offset.
/// `weir run` commits its source offsets to the group with every checkpoint (every second by
/// default, and at a graceful stop; also without checkpoints), so this is what it had covered at
/// its last checkpoint, up to one checkpoint interval behind its live `weir_consumer_lag`.
public struct ConsumerLag: Sendable, Equatable {
    public struct Partition: Sendable, Equatable {
        public var partition: Int32
        /// Nil when the group has committed no offset for it.
        public var committed: Int64?
        public var high: Int64
        public init(partition: Int32, committed: Int64?, high: Int64) {
            self.partition = partition; self.committed = committed; self.high = high
        }
    }

    public var group: String
    public var topic: String
    public var partitions: [Partition]
    /// When it was measured (epoch ms).
    public var checkedAt: Int64
    /// Why there is no figure (nil when there is one).
    public var problem: String?

    public init(group: String, topic: String, partitions: [Partition], checkedAt: Int64, problem: String? = nil) {
        self.group = group; self.topic = topic; self.partitions = partitions; self.checkedAt = checkedAt; self.problem = problem
    }

    /// Σ max(0, high − committed) over the partitions with a committed offset; nil when none has
    /// one or the measurement failed.
    public var total: Int64? {
        guard problem == nil else { return nil }
        let known = partitions.compactMap { p in p.committed.map { max(0, p.high - $0) } }
        return known.isEmpty ? nil : known.reduce(0, +)
    }

    /// Partitions without a committed offset.
    public var uncommitted: Int { partitions.filter { $0.committed == nil }.count }

    /// What the page shows when ``total`` is nil, or what the figure leaves out; nil when it is whole.
    public var note: String? {
        if let problem { return problem }
        if partitions.isEmpty { return "topic '\(topic)' has no partitions" }
        let n = uncommitted
        if n == partitions.count {
            return "group '\(group)' has committed no offsets on '\(topic)' yet"
        }
        return n > 0 ? "\(n) of \(partitions.count) partitions of '\(topic)' have no committed offset in group '\(group)' and are not counted" : nil
    }
}
