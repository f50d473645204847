/// SpaceSaving heavy hitters (Metwally, Agrawal, El Abbadi 2005) over interned `Int32` ids.
///
/// Keeps at most `capacity` counters. A tracked id's `count` over-estimates its true frequency
/// by at most its `error` (so `count - error <= true <= count`), and every error is at most
/// `total / capacity`. Any id with true frequency above `total / capacity` is tracked.
/// Counters live in a binary min-heap keyed by count, with an id → heap-slot open-addressing table;
/// both grow with the ids tracked (up to `capacity`), so a summary of a few ids is small and
/// updates allocate only while it grows.
///
/// Merging follows Agarwal et al. 2012 (mergeable summaries): a missing id counts as the other
/// summary's minimum (when that summary is full), added to both count and error; the largest
/// `capacity` counters are kept. Bounds hold for the merged stream.
/// - Complexity: `insert` O(log capacity), allocation-free once grown; `top(_:)` O(c log c).
public struct SpaceSaving: Sendable, Equatable {
    /// One tracked id with its estimated count and over-estimation bound.
    public struct Item: Sendable, Equatable {
        public let id: Int32
        /// Estimated frequency (an upper bound on the true frequency).
        public let count: Int
        /// Maximum over-estimation: `count - error` is a lower bound on the true frequency.
        public let error: Int
        /// `count - error`, a guaranteed lower bound.
        public var guaranteedCount: Int { count - error }
    }

    /// Maximum number of counters.
    public let capacity: Int
    /// The largest supported capacity (2^20 counters, about 40 MB).
    public static let maxCapacity = 1 << 20
    @usableFromInline var total_: Int
    /// Total weight inserted.
    public var total: Int { total_ }
    @usableFromInline var ids: [Int32]
    @usableFromInline var counts: [Int]
    @usableFromInline var errors: [Int]
    @usableFromInline var slot: IdSlotTable

    /// Creates an empty summary with `capacity` counters.
    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `capacity < 1`.
    public init(capacity: Int) throws(StatsError) {
        guard capacity >= 1, capacity <= Self.maxCapacity else {
            throw .invalidParameter(name: "capacity", detail: "\(capacity) not in 1...\(Self.maxCapacity)")
        }
        self.capacity = capacity
        total_ = 0
        // storage grows with the ids tracked (up to `capacity`), not reserved up front
        ids = []; counts = []; errors = []
        slot = IdSlotTable()
    }

    /// Bytes of storage held (counters and the id table); grows with the ids tracked.
    public var storageBytes: Int { 20 * ids.capacity + slot.storageBytes }

    /// Number of tracked ids.
    public var trackedCount: Int { ids.count }
    /// The maximum over-estimation of any count: the smallest counter when full, else 0.
    public var errorBound: Int { ids.count < capacity ? 0 : (counts.first ?? 0) }

    /// Counts `weight` (> 0) occurrences of `id`. Non-positive weights are ignored.
    @inlinable
    public mutating func insert(_ id: Int32, weight: Int = 1) {
        guard weight > 0 else { return }
        total_ += weight
        if let s = slot.get(id) {
            counts[s] += weight
            siftDown(s)
        } else if ids.count < capacity {
            ids.append(id); counts.append(weight); errors.append(0)
            slot.set(id, ids.count - 1)
            siftUp(ids.count - 1)
        } else {
            // replace the minimum (heap root)
            let old = ids[0]
            let m = counts[0]
            slot.remove(old)
            ids[0] = id
            errors[0] = m
            counts[0] = m + weight
            slot.set(id, 0)
            siftDown(0)
        }
    }

    /// The estimate for `id` (nil if untracked: its true count is then at most ``errorBound``).
    public func item(_ id: Int32) -> Item? {
        guard let s = slot.get(id) else { return nil }
        return Item(id: id, count: counts[s], error: errors[s])
    }

    /// The `n` largest counters, by count descending then id ascending.
    public func top(_ n: Int) -> [Item] {
        var all = (0..<ids.count).map { Item(id: ids[$0], count: counts[$0], error: errors[$0]) }
        all.sort { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }
        return Array(all.prefix(Swift.max(0, n)))
    }

    /// Merges `other` into this summary.
    /// - Throws: ``StatsError/mismatchedConfiguration(detail:)`` when capacities differ.
    public mutating func merge(_ other: SpaceSaving) throws(StatsError) {
        guard other.capacity == capacity else {
            throw .mismatchedConfiguration(detail: "SpaceSaving capacity \(capacity) vs \(other.capacity)")
        }
        let minSelf = errorBound
        let minOther = other.errorBound
        var merged: [Int32: (Int, Int)] = [:]
        merged.reserveCapacity(ids.count + other.ids.count)
        for i in ids.indices {
            merged[ids[i]] = (counts[i] + minOther, errors[i] + minOther)
        }
        for i in other.ids.indices {
            let id = other.ids[i]
            if let s = slot.get(id) {
                merged[id] = (counts[s] + other.counts[i], errors[s] + other.errors[i])
            } else {
                merged[id] = (other.counts[i] + minSelf, other.errors[i] + minSelf)
            }
        }
        var items = merged.map { Item(id: $0.key, count: $0.value.0, error: $0.value.1) }
        items.sort { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }
        let newTotal = total + other.total
        ids.removeAll(keepingCapacity: true)
        counts.removeAll(keepingCapacity: true)
        errors.removeAll(keepingCapacity: true)
        slot.removeAll()
        for it in items.prefix(capacity) {
            ids.append(it.id); counts.append(it.count); errors.append(it.error)
            slot.set(it.id, ids.count - 1)
            siftUp(ids.count - 1)
        }
        total_ = newTotal
    }

    /// Empties the summary, keeping storage.
    public mutating func reset() {
        total_ = 0
        ids.removeAll(keepingCapacity: true)
        counts.removeAll(keepingCapacity: true)
        errors.removeAll(keepingCapacity: true)
        slot.removeAll()
    }

    // MARK: heap (min-heap on count; ties in any order)

    @usableFromInline @inline(__always)
    func less(_ a: Int, _ b: Int) -> Bool { counts[a] < counts[b] }

    @usableFromInline
    mutating func siftUp(_ i0: Int) {
        var i = i0
        let id = ids[i], c = counts[i], e = errors[i]
        while i > 0 {
            let p = (i - 1) / 2
            if c < counts[p] {
                ids[i] = ids[p]; counts[i] = counts[p]; errors[i] = errors[p]
                slot.set(ids[i], i)
                i = p
            } else { break }
        }
        if i != i0 {
            ids[i] = id; counts[i] = c; errors[i] = e
        }
        slot.set(id, i)
    }

    /// Moves the element at `i0` down past children with smaller counts (hole technique: each
    /// level copies one child up and updates one table entry).
    @usableFromInline
    mutating func siftDown(_ i0: Int) {
        var i = i0
        let n = ids.count
        let id = ids[i], c = counts[i], e = errors[i]
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var ch = l
            if l + 1 < n && counts[l + 1] < counts[l] { ch = l + 1 }
            if counts[ch] < c {
                ids[i] = ids[ch]; counts[i] = counts[ch]; errors[i] = errors[ch]
                slot.set(ids[i], i)
                i = ch
            } else { break }
        }
        if i != i0 {
            ids[i] = id; counts[i] = c; errors[i] = e
            slot.set(id, i)
        }
    }
}

extension SpaceSaving: ByteSerializable {
    public func serialize(into writer: inout ByteWriter) {
        writer.writeHeader(tag: "WSPS", version: 1)
        writer.write(UInt32(capacity))
        writer.write(total)
        writer.write(UInt32(ids.count))
        for i in ids.indices {
            writer.write(ids[i]); writer.write(counts[i]); writer.write(errors[i])
        }
    }

    public init(deserializing reader: inout ByteReader) throws(SerializationError) {
        try reader.readHeader(tag: "WSPS", supportedVersions: 1...1)
        let cap = Int(try reader.readUInt32())
        guard cap >= 1, cap <= Self.maxCapacity else { throw .invalidValue(field: "SpaceSaving.capacity", detail: "\(cap)") }
        capacity = cap
        total_ = try reader.readInt()
        let n = Int(try reader.readUInt32())
        guard n <= cap else { throw .invalidValue(field: "SpaceSaving.count", detail: "\(n) > capacity \(cap)") }
        ids = []; ids.reserveCapacity(n)
        counts = []; counts.reserveCapacity(n)
        errors = []; errors.reserveCapacity(n)
        slot = IdSlotTable()
        for i in 0..<n {
            let id = try reader.readInt32()
            let c = try reader.readInt()
            let e = try reader.readInt()
            guard slot.get(id) == nil, c >= 0, e >= 0, e <= c else {
                throw .invalidValue(field: "SpaceSaving.counter\(i)", detail: "id \(id) count \(c) error \(e)")
            }
            ids.append(id); counts.append(c); errors.append(e)
            slot.set(id, i)
        }
        // The serialized order is the heap order; verify it.
        for i in 1..<Swift.max(1, n) where less(i, (i - 1) / 2) {
            throw .invalidValue(field: "SpaceSaving.heap", detail: "slot \(i) violates heap order")
        }
    }

    public static func == (a: SpaceSaving, b: SpaceSaving) -> Bool {
        a.capacity == b.capacity && a.total == b.total && a.ids == b.ids && a.counts == b.counts && a.errors == b.errors
    }
}
