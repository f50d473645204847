import WeirStats

/// Bounds of a ``LabelJoiner``.
public struct LabelJoinerConfig: Sendable, Equatable {
    /// Most events waiting for a label; adding beyond it evicts the oldest (counted as expired).
    public var capacity: Int
    /// Longest wait, in the caller's time unit (e.g. ms): an event added at time `t` is dropped
    /// by the first call whose `now` exceeds `t + maxWait`.
    public var maxWait: Int64

    public init(capacity: Int = 65_536, maxWait: Int64 = 3_600_000) {
        self.capacity = max(1, capacity)
        self.maxWait = max(0, maxWait)
    }
}

/// A scored event whose label has arrived.
public struct JoinedEvent: Sendable, Equatable {
    public var eventId: UInt64
    /// The time given to ``LabelJoiner/add(eventId:time:score:input:learnable:)``.
    public var time: Int64
    /// The score emitted when the event arrived.
    public var score: Double
    /// False when the event's features were invalid at scoring time (do not learn from it).
    public var learnable: Bool

    public init(eventId: UInt64, time: Int64, score: Double, learnable: Bool) {
        self.eventId = eventId
        self.time = time
        self.score = score
        self.learnable = learnable
    }
}

/// Counters of a ``LabelJoiner``.
public struct LabelJoinerCounts: Sendable, Equatable {
    public var added = 0
    public var joined = 0
    /// Pending events dropped because their label did not arrive within `maxWait`.
    public var expired = 0
    /// Pending events dropped because `capacity` was reached.
    public var evicted = 0
    /// Labels for ids that are not pending (unknown, already joined, or expired).
    public var unmatchedLabels = 0
    /// Adds whose id was already pending (the older event is dropped).
    public var replaced = 0
    public init() {}
}

/// Joins labels that arrive after their events: keeps each scored event (its feature view copied
/// into a preallocated slab, its score and time) until its label arrives, for at most
/// `capacity` events and `maxWait` time. Pure: no clock, no I/O; time is passed in.
///
/// Storage is a ring of slots in arrival order (oldest at the head) plus an open-addressing
/// table from event id to slot (linear probing, backward-shift deletion), allocated whole at the
/// first ``add(eventId:time:score:input:learnable:)`` (~5 MB at the default 65,536 slots: a
/// model whose labels come with the event, or a partitioned task that never learns, never pays
/// it), so nothing allocates after that. A slot freed by a join in the middle of the ring is reclaimed when the head
/// passes it. Expiry walks from the oldest slot, so `time` should be non-decreasing (arrival or
/// processing time, or a watermark); with out-of-order times an event still never expires
/// before its bound, but may be kept longer (never beyond `capacity`).
/// - Complexity: O(1) expected per add and join (plus the feature copy); ``expire(now:)`` is
///   O(1) amortised per dropped event.
public struct LabelJoiner: Sendable {
    public let config: LabelJoinerConfig
    public let layout: FeatureLayout
    public private(set) var counts = LabelJoinerCounts()
    var slab: InputSlab
    var ids: ContiguousArray<UInt64>
    var times: ContiguousArray<Int64>
    var scores: ContiguousArray<Double>
    /// 0 free, 1 pending, 2 pending but not learnable.
    var states: ContiguousArray<UInt8>
    var table: ContiguousArray<Int32>
    var mask: Int
    var head = 0
    var used = 0
    /// Events currently waiting for a label.
    public private(set) var pendingCount = 0

    public init(layout: FeatureLayout, config: LabelJoinerConfig = LabelJoinerConfig()) {
        self.config = config
        self.layout = layout
        slab = InputSlab(layout: layout, capacity: 1)
        ids = []
        times = []
        scores = []
        states = []
        table = []
        mask = 0
    }

    /// The storage is allocated (at the first add).
    var isAllocated: Bool { !table.isEmpty }

    /// Allocates the ring and the table for `capacity` events.
    mutating func allocate() {
        let cap = config.capacity
        slab = InputSlab(layout: layout, capacity: cap)
        ids = ContiguousArray(repeating: 0, count: cap)
        times = ContiguousArray(repeating: 0, count: cap)
        scores = ContiguousArray(repeating: 0, count: cap)
        states = ContiguousArray(repeating: 0, count: cap)
        var size = 16
        while size < 2 * cap { size <<= 1 }
        table = ContiguousArray(repeating: -1, count: size)
        mask = size - 1
    }

    func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: StatsHash.mix64(id)) & mask }

    /// Table position holding `id`, or nil.
    func position(of id: UInt64) -> Int? {
        guard isAllocated else { return nil }
        var i = home(id)
        while true {
            let s = table[i]
            if s < 0 { return nil }
            if ids[Int(s)] == id { return i }
            i = (i + 1) & mask
        }
    }

    mutating func removeFromTable(at pos: Int) {
        var i = pos
        var j = (i + 1) & mask
        while table[j] >= 0 {
            let k = home(ids[Int(table[j])])
            // Move entry j back to i if its home is not cyclically in (i, j].
            let inRange = i <= j ? (k > i && k <= j) : (k > i || k <= j)
            if !inRange { table[i] = table[j]; i = j }
            j = (j + 1) & mask
        }
        table[i] = -1
    }

    mutating func insertIntoTable(slot: Int) {
        var i = home(ids[slot])
        while table[i] >= 0 { i = (i + 1) & mask }
        table[i] = Int32(slot)
    }

    /// Drops the head slot (counting it as `expired` or `evicted` if it was still pending).
    mutating func dropHead(evicting: Bool) {
        if states[head] != 0 {
            if let p = position(of: ids[head]) { removeFromTable(at: p) }
            states[head] = 0
            pendingCount -= 1
            if evicting { counts.evicted += 1 } else { counts.expired += 1 }
        }
        head = (head + 1) % config.capacity
        used -= 1
    }

    /// Drops events older than `now − maxWait` and reclaims freed slots at the head.
    /// Returns how many pending events expired.
    @discardableResult
    public mutating func expire(now: Int64) -> Int {
        let before = counts.expired
        let (limit, overflow) = now.subtractingReportingOverflow(config.maxWait)
        while used > 0 {
            if states[head] == 0 || (!overflow && times[head] < limit) { dropHead(evicting: false) } else { break }
        }
        return counts.expired - before
    }

    /// Keeps a scored event until its label arrives. `input` is copied. If the joiner is full the
    /// oldest pending event is evicted. `learnable: false` marks events whose features were
    /// invalid (the label is then consumed without learning).
    public mutating func add(eventId: UInt64, time: Int64, score: Double, input: ModelInput,
                                        learnable: Bool = true) {
        if !isAllocated { allocate() }
        expire(now: time)
        if let p = position(of: eventId) {
            let s = Int(table[p])
            removeFromTable(at: p)
            states[s] = 0
            pendingCount -= 1
            counts.replaced += 1
        }
        while used > 0 && states[head] == 0 { head = (head + 1) % config.capacity; used -= 1 }
        if used == config.capacity { dropHead(evicting: true) }
        let slot = (head + used) % config.capacity
        used += 1
        ids[slot] = eventId
        times[slot] = time
        scores[slot] = score
        states[slot] = learnable ? 1 : 2
        slab.store(input, at: slot)
        insertIntoTable(slot: slot)
        pendingCount += 1
        counts.added += 1
    }

    /// Finds the pending event `eventId` (after expiring events older than `now − maxWait`),
    /// copies its features into `input`, and removes it. Returns nil (counted as unmatched) when
    /// the id is not pending.
    public mutating func join(eventId: UInt64, now: Int64, into input: inout ModelInput) -> JoinedEvent? {
        expire(now: now)
        guard let p = position(of: eventId) else { counts.unmatchedLabels += 1; return nil }
        let s = Int(table[p])
        removeFromTable(at: p)
        slab.load(s, into: &input)
        let e = JoinedEvent(eventId: eventId, time: times[s], score: scores[s], learnable: states[s] == 1)
        states[s] = 0
        pendingCount -= 1
        counts.joined += 1
        return e
    }
}

extension LabelJoiner: ByteSerializable {
    /// Writes the bounds, counters and the ring (pending events with their features, and freed
    /// slots not yet reclaimed) in arrival order, so a restored joiner evicts and expires exactly
    /// as the original would.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMLJ", version: 1)
        layout.write(into: &w)
        w.write(config.capacity); w.write(config.maxWait)
        for c in [counts.added, counts.joined, counts.expired, counts.evicted, counts.unmatchedLabels, counts.replaced] { w.write(c) }
        w.write(used)
        var x = ModelInput(layout: layout)
        for k in 0..<used {
            let s = (head + k) % config.capacity
            w.write(states[s])
            guard states[s] != 0 else { continue }
            w.write(ids[s]); w.write(times[s]); w.write(scores[s])
            slab.load(s, into: &x)
            x.write(into: &w)
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMLJ", supportedVersions: 1...1)
        let layout = try FeatureLayout.read(from: &r)
        let cap = try r.readCount(field: "capacity", limit: 1 << 26)
        let wait = try r.readInt64()
        self.init(layout: layout, config: LabelJoinerConfig(capacity: cap, maxWait: wait))
        counts.added = try r.readInt(); counts.joined = try r.readInt(); counts.expired = try r.readInt()
        counts.evicted = try r.readInt(); counts.unmatchedLabels = try r.readInt(); counts.replaced = try r.readInt()
        let n = try r.readCount(field: "used", limit: config.capacity)
        if n > 0 { allocate() }
        var x = ModelInput(layout: layout)
        for s in 0..<n {
            let st = try r.readUInt8()
            guard st <= 2 else { throw .invalidValue(field: "slot state", detail: "\(st)") }
            states[s] = st
            guard st != 0 else { continue }
            ids[s] = try r.readUInt64(); times[s] = try r.readInt64(); scores[s] = try r.readDouble()
            try x.read(from: &r)
            slab.store(x, at: s)
            guard position(of: ids[s]) == nil else { throw .invalidValue(field: "event id", detail: "duplicate \(ids[s])") }
            insertIntoTable(slot: s)
            pendingCount += 1
        }
        head = 0
        used = n
    }
}
