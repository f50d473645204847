import WeirStats

/// The compiled form of one ``AggregateSpec``: an opcode, its input field and its slot offsets.
@usableFromInline
struct CompiledAggregate: Sendable {
    @usableFromInline enum Op: UInt8, Sendable { case count, sum, mean, variance, std, min, max, first, last, ewma, distinct, quantile, topK }
    @usableFromInline var op: Op
    /// Input field index, or −1 for the event count.
    @usableFromInline var field: Int
    @usableFromInline var type: FieldType
    /// First slot of this aggregate's state within an entry.
    @usableFromInline var slot: Int
    /// First output column.
    @usableFromInline var column: Int
    @usableFromInline var param: Double
    @usableFromInline var k: Int
    @usableFromInline var capacity: Int
}

/// Accumulator state for many windows, in one flat slab of `Double` slots plus sketch pools.
///
/// Each window ("entry") owns `stride` consecutive slots; the layout is fixed when the window
/// operator is built, so per-event updates are a loop over a small array of opcodes, with no
/// existentials and no allocation (except when a sketch-backed aggregate starts a new window).
/// Slot layouts: count `[n]`; sum `[s,c]` and mean `[n,s,c]` (Neumaier-compensated sums);
/// variance/std `[n,K,mean,M2]` (Welford on `x − K`, `K` = first value, so values near 1e9 with a
/// tiny spread keep full precision; Chan et al. to merge);
/// min/max `[n,v]`; first/last `[n,ts,v]`; ewma `[n,s]`; sketches `[pool index]`.
/// - Complexity: `apply` and `merge` O(aggregates) (+ sketch costs); memory `8·stride` bytes per entry.
public struct AccumulatorStore: Sendable {
    @usableFromInline var aggs: ContiguousArray<CompiledAggregate>
    /// Slots per entry.
    public let stride: Int
    /// Output columns per entry.
    public let columnCount: Int
    /// Output column names.
    public let columnNames: [String]
    @usableFromInline var slots: ContiguousArray<Double>
    @usableFromInline var hlls: [HyperLogLog] = []
    @usableFromInline var klls: [KLLSketch] = []
    @usableFromInline var tops: [SpaceSaving] = []
    @usableFromInline var freeHLL: [Int32] = [], freeKLL: [Int32] = [], freeTop: [Int32] = []
    /// Storage held by the sketches (distinct-count registers, quantile levels, top-k counters),
    /// kept up to date as they grow, promote and are freed (so the state gauge costs O(1)).
    @usableFromInline var sketchBytes = 0
    /// True when some aggregate is sketch-backed.
    public let hasSketches: Bool
    /// True when every aggregate is mergeable.
    public let isMergeable: Bool

    /// Compiles `specs` against `schema`.
    /// - Throws: ``SchemaError`` for unknown fields, wrong field types or invalid parameters.
    public init(specs: [AggregateSpec], schema: Schema) throws(SchemaError) {
        var aggs = ContiguousArray<CompiledAggregate>()
        var slot = 0, column = 0
        var names: [String] = []
        var seen = Set<String>()
        let numeric: Set<FieldType> = [.double, .int, .bool, .timestamp]
        for s in specs {
            guard seen.insert(s.name).inserted else { throw .duplicateName(s.name) }
            var field = -1
            var type = FieldType.double
            if let f = s.field {
                let allowed: Set<FieldType>
                switch s.function {
                case .count: allowed = Set(FieldType.allCases)
                case .distinct: allowed = [.double, .int, .bool, .timestamp, .category, .string]
                case .topK: allowed = [.category, .int, .bool]
                default: allowed = numeric
                }
                field = try schema.requireField(f, types: allowed)
                type = schema.fields[field].type
            } else if s.function != .count {
                throw .invalidAggregate(name: s.name, detail: "needs a field")
            }
            var c = CompiledAggregate(op: .count, field: field, type: type, slot: slot, column: column, param: 0, k: 0, capacity: 0)
            var width = 1
            switch s.function {
            case .count: c.op = .count
            case .sum: c.op = .sum; width = 2
            case .mean: c.op = .mean; width = 3
            case .variance: c.op = .variance; width = 4
            case .std: c.op = .std; width = 4
            case .min: c.op = .min; width = 2
            case .max: c.op = .max; width = 2
            case .first: c.op = .first; width = 3
            case .last: c.op = .last; width = 3
            case .ewma(let a):
                guard a > 0 && a <= 1 else { throw .invalidAggregate(name: s.name, detail: "alpha \(a) not in (0, 1]") }
                c.op = .ewma; c.param = a; width = 2
            case .distinct(let p):
                guard (4...18).contains(p) else { throw .invalidAggregate(name: s.name, detail: "precision \(p) not in 4...18") }
                c.op = .distinct; c.k = p
            case .quantile(let q, let k):
                guard q >= 0 && q <= 1 else { throw .invalidAggregate(name: s.name, detail: "q \(q) not in [0, 1]") }
                guard (8...65_535).contains(k) else { throw .invalidAggregate(name: s.name, detail: "k \(k) not in 8...65535") }
                c.op = .quantile; c.param = q; c.k = k
            case .topK(let k, let cap):
                guard k >= 1, cap >= k else { throw .invalidAggregate(name: s.name, detail: "need 1 ≤ k ≤ capacity") }
                c.op = .topK; c.k = k; c.capacity = cap
            }
            aggs.append(c)
            slot += width
            let cols = s.columnNames
            names += cols
            column += cols.count
        }
        self.aggs = aggs
        stride = Swift.max(1, slot)
        columnCount = column
        columnNames = names
        slots = []
        hasSketches = aggs.contains { $0.op == .distinct || $0.op == .quantile || $0.op == .topK }
        isMergeable = specs.allSatisfy { $0.function.isMergeable }
    }

    /// Number of aggregates.
    public var aggregateCount: Int { aggs.count }

    /// Entries allocated in the slab (live or free).
    public var entryCapacity: Int { slots.count / stride }

    /// Grows the slab to hold entry `e` and resets it.
    @usableFromInline
    mutating func prepare(_ e: Int32) {
        let need = (Int(e) + 1) * stride
        while slots.count < need { slots.append(0) }
        reset(e, fresh: true)
    }

    /// Clears an entry's state (sketches emptied, kept).
    @usableFromInline
    mutating func reset(_ e: Int32, fresh: Bool = false) {
        let base = Int(e) * stride
        for a in aggs {
            switch a.op {
            case .distinct:
                // reset keeps the storage (and so the byte count) of a reused sketch
                if fresh { slots[base + a.slot] = Double(takeHLL(precision: a.k)) } else { hlls[Int(slots[base + a.slot])].reset() }
            case .quantile:
                if fresh { slots[base + a.slot] = Double(takeKLL(k: a.k)) } else {
                    let h = Int(slots[base + a.slot])
                    sketchBytes -= klls[h].storageBytes
                    klls[h] = try! KLLSketch(k: a.k)
                    sketchBytes += klls[h].storageBytes
                }
            case .topK:
                if fresh { slots[base + a.slot] = Double(takeTop(capacity: a.capacity)) } else { tops[Int(slots[base + a.slot])].reset() }
            case .min, .max, .ewma, .sum: slots[base + a.slot] = 0; slots[base + a.slot + 1] = 0
            case .first, .last, .mean: slots[base + a.slot] = 0; slots[base + a.slot + 1] = 0; slots[base + a.slot + 2] = 0
            case .variance, .std: for j in 0..<4 { slots[base + a.slot + j] = 0 }
            case .count: slots[base + a.slot] = 0
            }
        }
    }

    /// Returns an entry's sketches to the pools (call when the entry is freed), freeing their
    /// storage: a pooled sketch is empty and small. An entry reused after this needs `reset(fresh: true)`.
    @usableFromInline
    mutating func release(_ e: Int32) {
        guard hasSketches else { return }
        let base = Int(e) * stride
        for a in aggs {
            // only sketch aggregates hold a pool index in their slot (others hold any value)
            guard a.op == .distinct || a.op == .quantile || a.op == .topK else { continue }
            let h = Int32(slots[base + a.slot])
            switch a.op {
            case .distinct:
                sketchBytes -= hlls[Int(h)].storageBytes
                hlls[Int(h)].clear()
                freeHLL.append(h)
            case .quantile:
                sketchBytes -= klls[Int(h)].storageBytes
                klls[Int(h)] = try! KLLSketch(k: a.k)
                sketchBytes += klls[Int(h)].storageBytes
                freeKLL.append(h)
            case .topK:
                sketchBytes -= tops[Int(h)].storageBytes
                tops[Int(h)] = try! SpaceSaving(capacity: a.capacity)
                sketchBytes += tops[Int(h)].storageBytes  // an empty summary's id table
                freeTop.append(h)
            default: break
            }
        }
    }

    mutating func takeHLL(precision: Int) -> Int32 {
        if let h = freeHLL.last, hlls[Int(h)].precision == precision { freeHLL.removeLast(); return h }
        hlls.append(try! HyperLogLog(precision: precision))
        sketchBytes += hlls[hlls.count - 1].storageBytes
        return Int32(hlls.count - 1)
    }
    mutating func takeKLL(k: Int) -> Int32 {
        if let h = freeKLL.last, klls[Int(h)].k == k { freeKLL.removeLast(); return h }
        klls.append(try! KLLSketch(k: k))
        sketchBytes += klls[klls.count - 1].storageBytes
        return Int32(klls.count - 1)
    }
    mutating func takeTop(capacity: Int) -> Int32 {
        if let h = freeTop.last, tops[Int(h)].capacity == capacity { freeTop.removeLast(); return h }
        tops.append(try! SpaceSaving(capacity: capacity))
        sketchBytes += tops[tops.count - 1].storageBytes
        return Int32(tops.count - 1)
    }

    /// Re-counts ``sketchBytes`` from the sketches (after a restore). O(sketches).
    mutating func recountSketchBytes() {
        sketchBytes = hlls.reduce(0) { $0 + $1.storageBytes } + klls.reduce(0) { $0 + $1.storageBytes }
            + tops.reduce(0) { $0 + $1.storageBytes }
    }
}
