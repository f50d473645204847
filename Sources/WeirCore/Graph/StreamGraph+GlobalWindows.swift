extension StreamGraph {
    /// Indices of the `by: global` (keyless) window operators, in graph order.
    public var globalWindowIndices: [Int] { windows.indices.filter { !windows[$0].isKeyed } }

    /// The schema fields the `by: global` windows' aggregates read (``GraphSpec/globalWindowInputFields``).
    public var globalWindowInputFields: [Int] { spec.globalWindowInputFields }

    /// A partitioned global stage: one event of a task through the `by: global` windows only,
    /// at watermark `watermark` (the global stage's, before the event), as if its record had been
    /// decoded here: `values[j]` is the raw 64-bit slot (``RecordBatch``'s encoding) of schema
    /// field `fields[j]`, present when bit `j` of `present` is set. Results and late events are
    /// appended to ``outputs`` (the event is a row of ``GraphOutputs/records``). Keyed windows are
    /// not touched. Allocation-free once the output buffers have grown.
    /// - Precondition: `fields.count == values.count ≤ 64`; the fields are the graph's
    ///   ``globalWindowInputFields`` (no string field is read but by `count`).
    public mutating func processGlobalWindows(eventTime ts: Int64, partition: Int32, offset: Int64, fields: UnsafeBufferPointer<Int>,
                                              values: UnsafeBufferPointer<Int64>, present: UInt64, watermark wm: Int64) {
        let row = outputs.records.appendRow(partition: partition, offset: offset)
        for j in 0..<fields.count where present & (1 << UInt64(j)) != 0 {
            outputs.records.setRaw(row, fields[j], values[j])
        }
        outputs.records.setEventTime(row, ts)
        for i in windows.indices where !windows[i].isKeyed {
            windows[i].process(outputs.records, row: row, ts: ts, watermark: wm, results: &outputs.windowResults, late: &outputs.late)
        }
    }

    /// Fires (and purges) the windows due at watermark `wm`, appending their results to
    /// ``outputs``: a partitioned global stage's watermark (the minimum over the tasks) is not
    /// the graph's own.
    public mutating func advanceWindows(to wm: Int64) {
        for i in windows.indices where windows[i].hasDueTimer(at: wm) { windows[i].advance(to: wm, results: &outputs.windowResults) }
    }
}

extension GraphSpec {
    /// The schema fields the `by: global` (keyless) windows' aggregates read, ascending, each
    /// once: what a partitioned task sends per event so that the global stage can run these
    /// windows (``StreamGraph/processGlobalWindows(eventTime:partition:offset:fields:values:present:watermark:)``).
    public var globalWindowInputFields: [Int] {
        var fields = Set<Int>()
        for w in windows where w.keyField == nil {
            for a in w.aggregates { if let f = a.field, let i = schema.index(of: f) { fields.insert(i) } }
        }
        return fields.sorted()
    }

    /// The `by: global` aggregates a partitioned task cannot send as one 64-bit value with the
    /// meaning one instance gives it: any but `count` over a `string` field (its bytes) or over a
    /// `category` field without a declared `categories` list (open categories are numbered per
    /// task in the order first seen; a declared list numbers them the same everywhere), as
    /// `(aggregate name, field name)`.
    public var globalWindowAggregatesNeedingNames: [(aggregate: String, field: String)] {
        var out: [(String, String)] = []
        for w in windows where w.keyField == nil {
            for a in w.aggregates {
                guard let f = a.field, let i = schema.index(of: f), a.function != .count else { continue }
                let field = schema.fields[i]
                if field.type == .string || (field.type == .category && field.categories == nil) { out.append((a.name, f)) }
            }
        }
        return out
    }

    /// The features of the vector (model inputs) that read a `by: global` window, directly or in
    /// an expression, by name.
    public var featuresReadingGlobalWindows: [String] {
        let global = Set(windows.filter { $0.keyField == nil }.map(\.name))
        return features.compactMap { f in
            switch f {
            case let .window(w, column, _, name): return global.contains(w) ? name ?? column : nil
            case let .program(p, name):
                return p.instructions.contains { if case .window(let w, _) = $0 { return global.contains(w) } else { return false } } ? name : nil
            default: return nil
            }
        }
    }
}
