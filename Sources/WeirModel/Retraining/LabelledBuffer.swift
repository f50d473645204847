import WeirStats

/// A bounded ring of recent labelled events (features copied into a preallocated slab, label,
/// time) used to train challengers. Holds at most `capacity` events; ``forEach(since:scratch:_:)``
/// skips events older than a cutoff, so the age bound is applied when training.
/// - Complexity: O(features) per append, never allocates; iteration O(count).
public struct LabelledBuffer: Sendable {
    public let capacity: Int
    var slab: InputSlab
    var labels: ContiguousArray<Double>
    var times: ContiguousArray<Int64>
    var start = 0
    /// Events held.
    public private(set) var count = 0

    public init(layout: FeatureLayout, capacity: Int) {
        self.capacity = max(1, capacity)
        slab = InputSlab(layout: layout, capacity: self.capacity)
        labels = ContiguousArray(repeating: 0, count: self.capacity)
        times = ContiguousArray(repeating: 0, count: self.capacity)
    }

    /// Appends an event, overwriting the oldest when full.
    public mutating func append(_ input: ModelInput, label: Double, time: Int64) {
        let slot: Int
        if count == capacity { slot = start; start = (start + 1) % capacity } else { slot = (start + count) % capacity; count += 1 }
        slab.store(input, at: slot)
        labels[slot] = label
        times[slot] = time
    }

    /// Calls `body(input, label, time)` for every event with `time >= cutoff`, oldest first,
    /// loading each into `scratch`. Returns how many events were visited.
    @discardableResult
    public func forEach(since cutoff: Int64, scratch: inout ModelInput,
                        _ body: (ModelInput, Double, Int64) -> Void) -> Int {
        var n = 0
        for k in 0..<count {
            let s = (start + k) % capacity
            guard times[s] >= cutoff else { continue }
            slab.load(s, into: &scratch)
            body(scratch, labels[s], times[s])
            n += 1
        }
        return n
    }

    /// Forgets every event.
    public mutating func removeAll() { start = 0; count = 0 }
}

extension LabelledBuffer: ByteSerializable {
    /// Writes the layout, capacity, the ring's start and count, then the held events in slot
    /// order ("WMLB" v2): an append changes one slot's bytes and leaves the others in place, so
    /// the model's checkpoint increments (``BlockDelta``) carry the new events only. (v1, still
    /// read, wrote them oldest first: every append shifted them all.)
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMLB", version: 2)
        slab.layout.write(into: &w)
        w.write(capacity); w.write(start); w.write(count)
        var x = ModelInput(layout: slab.layout)
        for s in 0..<count {  // occupied slots are 0..<count: `start` moves only once full
            w.write(labels[s]); w.write(times[s])
            slab.load(s, into: &x)
            x.write(into: &w)
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        let version = try r.readHeader(tag: "WMLB", supportedVersions: 1...2)
        let layout = try FeatureLayout.read(from: &r)
        let cap = try r.readCount(field: "capacity", limit: 1 << 26)
        self.init(layout: layout, capacity: cap)
        var x = ModelInput(layout: layout)
        if version == 1 {
            let n = try r.readCount(field: "count", limit: capacity)
            for _ in 0..<n {
                let y = try r.readDouble(), t = try r.readInt64()
                try x.read(from: &r)
                append(x, label: y, time: t)
            }
            return
        }
        let first = try r.readCount(field: "start", limit: capacity - 1)
        let n = try r.readCount(field: "count", limit: capacity)
        guard first == 0 || n == capacity else {
            throw .invalidValue(field: "LabelledBuffer", detail: "start \(first) with \(n) of \(capacity) events")
        }
        for s in 0..<n {
            labels[s] = try r.readDouble(); times[s] = try r.readInt64()
            try x.read(from: &r)
            slab.store(x, at: s)
        }
        start = first
        count = n
    }
}
