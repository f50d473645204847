/// How event-time watermarks are generated.
public struct WatermarkConfig: Sendable, Equatable {
    /// Bounded out-of-orderness in ms: a partition's watermark is `max event time seen − bound − 1`
    /// (Flink's `BoundedOutOfOrdernessWatermarks`).
    public var outOfOrderness: Int64
    /// Number of source partitions (ids `0..<partitionCount`); the operator watermark is the
    /// minimum over the active ones.
    public var partitionCount: Int
    /// A partition with no event for this many wall-clock ms is idle and no longer holds the
    /// watermark back (`nil`: never idle). A partition never seen counts from the tracker's start.
    public var idleTimeout: Int64?
    /// When every partition is idle, let the watermark advance with wall-clock time:
    /// `max event time seen − bound − 1 + (now − wall time of the last event)`, so the last
    /// windows fire when traffic stops.
    public var advanceWhenAllIdle: Bool

    public init(outOfOrderness: Int64 = 0, partitionCount: Int = 1, idleTimeout: Int64? = nil, advanceWhenAllIdle: Bool = true) {
        self.outOfOrderness = outOfOrderness
        self.partitionCount = partitionCount
        self.idleTimeout = idleTimeout
        self.advanceWhenAllIdle = advanceWhenAllIdle
    }
}

/// Per-partition bounded-out-of-orderness watermarks with idleness, as a pure state machine.
///
/// Times are arguments (`now` is wall-clock epoch ms), so tests drive it with a manual clock.
/// The watermark never decreases. `Int64.min` means "no watermark yet".
/// Invariants: `watermark` is monotone; an idle partition becomes active again on its next event
/// (its events may then be late for windows that already fired).
/// - Complexity: ``observe(partition:eventTime:now:)`` O(1) unless the minimum partition moved,
///   then O(partitions); ``advance(now:)`` O(partitions). Allocation-free.
public struct WatermarkTracker: Sendable, Equatable {
    public let config: WatermarkConfig
    @usableFromInline var maxTs: ContiguousArray<Int64>
    @usableFromInline var lastActive: ContiguousArray<Int64>
    @usableFromInline var idle: ContiguousArray<Bool>
    /// The current operator watermark (epoch ms).
    public private(set) var watermark: Int64 = .min
    /// Largest event time seen on any partition.
    public private(set) var maxEventTime: Int64 = .min
    /// Wall-clock time of the most recent event.
    public private(set) var lastEventWallTime: Int64

    /// - Parameter now: wall-clock ms when the source starts (unseen partitions count idleness from here).
    public init(config: WatermarkConfig, now: Int64 = 0) {
        self.config = config
        let p = max(1, config.partitionCount)
        maxTs = ContiguousArray(repeating: .min, count: p)
        lastActive = ContiguousArray(repeating: now, count: p)
        idle = ContiguousArray(repeating: false, count: p)
        lastEventWallTime = now
    }

    /// Whether partition `p` is currently idle.
    public func isIdle(partition p: Int) -> Bool { idle[p] }

    /// Records an event; returns the (possibly advanced) watermark.
    /// Partitions outside `0..<partitionCount` are folded modulo the count.
    @discardableResult
    public mutating func observe(partition: Int32, eventTime t: Int64, now: Int64) -> Int64 {
        let p = Int(UInt32(bitPattern: partition)) % maxTs.count
        lastActive[p] = now
        if now > lastEventWallTime { lastEventWallTime = now }
        let wasIdle = idle[p]
        if wasIdle { idle[p] = false }
        if t > maxEventTime { maxEventTime = t }
        if t > maxTs[p] || wasIdle {
            if t > maxTs[p] { maxTs[p] = t }
            recompute()
        }
        return watermark
    }

    /// Marks partition `p` idle at once (its input ended in a bounded run): it no longer holds
    /// the watermark back; like any idle partition it becomes active again on its next event.
    /// When every partition is idle the watermark is the newest event time's (Flink's rule).
    /// Returns the watermark. O(partitions).
    @discardableResult
    public mutating func markIdle(partition: Int32) -> Int64 {
        let p = Int(partition)
        guard p >= 0, p < idle.count, !idle[p] else { return watermark }
        idle[p] = true
        recompute()
        return watermark
    }

    /// Applies idleness at wall-clock `now` (call on ticks / before a batch); returns the watermark.
    @discardableResult
    public mutating func advance(now: Int64) -> Int64 {
        if let timeout = config.idleTimeout {
            var changed = false
            for p in 0..<maxTs.count where !idle[p] && now - lastActive[p] >= timeout {
                idle[p] = true
                changed = true
            }
            if changed { recompute() }
            if config.advanceWhenAllIdle && maxEventTime != .min && !idle.contains(false) {
                let wallWM = sat(maxEventTime, -config.outOfOrderness - 1) &+ max(0, now - lastEventWallTime)
                if wallWM > watermark { watermark = wallWM }
            }
        }
        return watermark
    }

    @inline(__always) func sat(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b < 0 ? .min : .max) : r
    }

    mutating func recompute() {
        var m = Int64.max
        var any = false
        for p in 0..<maxTs.count where !idle[p] {
            any = true
            let w = maxTs[p] == .min ? .min : sat(maxTs[p], -config.outOfOrderness - 1)
            if w < m { m = w }
        }
        if !any {
            // all idle: the max over partitions (Flink: idle inputs do not hold back)
            m = maxEventTime == .min ? .min : sat(maxEventTime, -config.outOfOrderness - 1)
        }
        if m > watermark { watermark = m }
    }

    /// Restores a tracker from its parts (used by snapshots).
    init(config: WatermarkConfig, maxTs: [Int64], lastActive: [Int64], idle: [Bool], watermark: Int64, maxEventTime: Int64, lastEventWallTime: Int64) {
        self.config = config
        self.maxTs = ContiguousArray(maxTs); self.lastActive = ContiguousArray(lastActive); self.idle = ContiguousArray(idle)
        self.watermark = watermark; self.maxEventTime = maxEventTime; self.lastEventWallTime = lastEventWallTime
    }
}
