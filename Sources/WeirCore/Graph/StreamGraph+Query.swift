import WeirStats

/// Read-only queries of a graph's live keyed state, for serving (`GET /v1/features/{key}`,
/// `POST /v1/score`). Nothing here changes the graph: a query works on a temporary operator
/// holding a copy of one key's windows only (``WindowOperator/isolated(keyBytes:)``), so its cost
/// is O(that key's windows × aggregates), never O(state), and the graph's storage is never shared
/// with a value that mutates (no copy-on-write lands on the processing thread afterwards).
///
/// Call these on the thread that owns the graph (between batches): they read its state.

/// One keyed window feature of a key, as served: the feature's name (as declared in the
/// topology), its value (the window column; 0 when not finite, as assembled), the
/// window operator and the bounds of the window it was read from (`[start, end)` event time;
/// count windows: the sequence number of the window and the events in it so far).
public struct ServedFeature: Sendable, Equatable {
    public let name: String
    public let value: Double
    public let window: String
    public let start: Int64
    public let end: Int64
}

/// An event evaluated against the live state without being ingested (``StreamGraph/peek(_:now:)``):
/// its decoded record (row 0), its event time, the feature vector it would get if it were the
/// next event ingested, and the watermark it was evaluated at.
public struct PeekedEvent: Sendable {
    public let records: RecordBatch
    public let eventTime: Int64
    public let vector: [Double]
    public let watermark: Int64
}

extension StreamGraph {
    /// The schema field the served key is: `keyField` when given, else the key field shared by the
    /// keyed windows that features read (nil when there is none).
    public func servedKeyField(_ keyField: String?) -> String? {
        keyField ?? windows.lazy.compactMap(\.spec.keyField).first
    }

    /// A window column served as a feature (`name`), resolved against this graph's operators;
    /// nil when no operator `window` has column `column`.
    public func servedFeatureRef(name: String, window: String, column: String) -> ServedFeatureRef? {
        guard let w = windowIndex(window), let c = windows[w].columnNames.firstIndex(of: column) else { return nil }
        return ServedFeatureRef(name: name, window: w, column: c)
    }

    /// The current value of each of `features` whose window is keyed by `keyField`, for the key
    /// `key` (its text: a string, an integer, `true`/`false`, or a category name), from the key's
    /// latest window of each operator (the window the key's last event read when events of a key
    /// come in order; see docs/serving.md). Nil when no such window holds the key (never seen, or
    /// all its windows purged after the allowed lateness).
    /// - Complexity: O(the key's live windows × aggregates) per operator, plus a hash lookup.
    public func servedFeatures(key: String, keyField: String, features: [ServedFeatureRef]) -> [ServedFeature]? {
        guard let field = spec.schema.index(of: keyField) else { return nil }
        typealias Latest = (start: Int64, end: Int64, values: ContiguousArray<Double>)
        var held: [Int: Latest] = [:]
        var absent = Set<Int>()
        var out: [ServedFeature] = []
        let bytes = keyBytes(text: key, field: field)
        for f in features {
            let op = windows[f.window]
            guard op.keyField == field, !absent.contains(f.window) else { continue }
            if held[f.window] == nil {
                let latest: Latest?
                if op.latestWindowIsMerged {
                    var mini = bytes.map { op.isolated(keyBytes: $0) }
                    latest = mini?.latestWindow()
                } else {
                    latest = bytes.flatMap { op.keys.lookup($0) }.flatMap { op.latestWindowInPlace(of: $0) }
                }
                guard let latest else { absent.insert(f.window); continue }
                held[f.window] = latest
            }
            let w = held[f.window]!
            let x = w.values[f.column]
            out.append(ServedFeature(name: f.name, value: x.isFinite ? x : 0, window: op.spec.name, start: w.start, end: w.end))
        }
        let found = !held.isEmpty
        return found ? out : nil
    }

    /// The window key bytes of `text` for schema field `field` (as ``WindowOperator`` interns a
    /// record's key): UTF-8 for strings, the 8-byte slot otherwise; nil when `text` is no value of
    /// the field's type (or an unknown category: no window can hold it).
    func keyBytes(text: String, field: Int) -> [UInt8]? {
        let raw: Int64
        switch spec.schema.fields[field].type {
        case .string: return Array(text.utf8)
        case .int, .timestamp: guard let v = Int64(text) else { return nil }; raw = v
        case .bool:
            switch text { case "true": raw = 1; case "false": raw = 0; default: return nil }
        case .category: guard let id = decoder.categoryID(field: field, value: text) else { return nil }; raw = Int64(id)
        case .double: return nil
        }
        return withUnsafeBytes(of: raw.littleEndian) { Array($0) }
    }

    /// Decodes and validates `message` like a source record, then computes the feature vector it
    /// would get if it were the next event ingested (its own contribution included, at the current
    /// watermark), on temporary copies of its keys' windows: the graph is unchanged.
    /// - Parameter now: wall-clock epoch ms (processing-time windows use it as the event time).
    /// - Throws: the ``DecodeError`` the record would be a dead letter with.
    /// - Complexity: O(bytes + Σ the event's keys' live windows × aggregates + dimension).
    public func peek(_ message: UnsafeRawBufferPointer, now: Int64) throws(DecodeError) -> PeekedEvent {
        var decoder = self.decoder  // a new category interns in this copy only
        var records = RecordBatch(fieldCount: spec.schema.count, capacity: 1)
        let row = try decoder.decode(message, into: &records, partition: 0, offset: 0)
        let ts: Int64, wm: Int64
        if timeField >= 0 {
            ts = records.int(row, timeField)
            wm = watermarks.watermark
        } else {
            ts = now
            wm = max(processingWatermark, now &- 1)
        }
        records.setEventTime(row, ts)
        var isolated: [WindowOperator] = []
        isolated.reserveCapacity(windows.count)
        var results = WindowResults()
        var late = ContiguousArray<LateEvent>()
        for op in windows {
            var mini = op.isolated(keyBytes: op.keyBytes(records, row))
            mini.process(records, row: row, ts: ts, watermark: wm, results: &results, late: &late)
            isolated.append(mini)
        }
        var vector: [Double] = []
        if let assembler {
            var features = FeatureBatch(names: assembler.names, capacity: 1)
            assembler.assemble(records, row: row, windows: isolated, into: &features)
            vector = Array(features.vector(0))
        }
        return PeekedEvent(records: records, eventTime: ts, vector: vector, watermark: wm)
    }
}

/// A window column served under a feature name (``StreamGraph/servedFeatureRef(name:window:column:)``).
public struct ServedFeatureRef: Sendable, Equatable {
    public let name: String
    public let window: Int
    public let column: Int
}

extension WindowOperator {
    /// The key bytes of row `row` as ``resolveKey(_:_:)`` interns them (empty when unkeyed).
    func keyBytes(_ batch: RecordBatch, _ row: Int) -> [UInt8] {
        guard keyField >= 0 else { return [] }
        let present = batch.isPresent(row, keyField)
        if keyType == .string && present { return batch.withStringBytes(row, keyField) { Array($0) } }
        guard present else { return [] }
        return withUnsafeBytes(of: batch.raw(row, keyField).littleEndian) { Array($0) }
    }

    /// A new operator with this one's spec, feature requests and watermark-independent settings,
    /// holding a copy of the windows (entries, accumulators, sketches, sliding events) of one key
    /// only (unkeyed: of the single global key), in the same order; no timers. Processing an event
    /// on it gives the event the window values it would get here; this operator is not touched.
    /// A key not held here is admitted only if this operator would admit it.
    /// - Complexity: O(the key's live windows × stride), sketches copied by value.
    func isolated(keyBytes bytes: [UInt8]) -> WindowOperator {
        var mini = self
        // Fresh storage (assignments, not mutations: this operator's buffers stay unshared).
        mini.keys = ByteInterner(capacity: 4)
        mini.keyHead = []
        mini.keyTail = []
        mini.ents = []
        mini.freeEntries = []
        mini.timers = TimerHeap()
        mini.stored = []
        mini.hints = []
        mini.hashedRows = 0..<0
        mini.dueTimers = []
        // The checkpoint journal too: appending to a copy that shares this operator's journal
        // copied the whole journal (everything journaled since the last checkpoint) per request.
        mini.journal = ByteWriter()
        mini.liveWindows = 0
        mini.store.clearAll()
        _ = mini.allocEntry(key: -1, start: 0, end: 0, link: false)
        let id: Int32?
        if keyField < 0 {
            _ = mini.keys.intern([UInt8]())
            mini.keyHead.append(-1)
            mini.keyTail.append(-1)
            id = liveWindows > 0 ? 0 : nil
        } else {
            id = keys.lookup(bytes)
            if id == nil { mini.admitsNewKeys = admitsNewKeys && keys.count < spec.maxKeys }
        }
        guard let id, Int(id) < keyHead.count else { return mini }
        if keyField >= 0 {
            _ = mini.keys.intern(bytes)
            mini.keyHead.append(-1)
            mini.keyTail.append(-1)
        }
        let mk: Int32 = 0  // the only key
        let w = 2 * store.aggregateCount
        var e = keyHead[Int(id)]
        while e >= 0 {
            let src = ents[Int(e)]
            let ne = mini.allocEntry(key: mk, start: src.start, end: src.end)
            mini.ents[Int(ne)].flags = src.flags
            mini.store.copyEntry(ne, from: store, e)
            if !stored.isEmpty && Int(e) * w + w <= stored.count {
                let base = Int(ne) * w
                while mini.stored.count < base + w { mini.stored.append(0) }
                for j in 0..<w { mini.stored[base + j] = stored[Int(e) * w + j] }
            }
            e = src.next
        }
        return mini
    }

    /// The bounds and column values of the latest window of this operator's only key (an
    /// ``isolated(keyBytes:)`` operator): the window an in-order last event of the key read.
    /// Aligned windows: the earliest window holding the latest slide; hopping by panes: that window
    /// merged from its panes; sliding: the events within `length` of the latest; session: the
    /// latest session; count: the window being filled. Nil when the key holds no window.
    mutating func latestWindow() -> (start: Int64, end: Int64, values: ContiguousArray<Double>)? {
        let key: Int32 = 0
        let newest = latestEntry(of: key)
        guard newest >= 0 else { return nil }
        switch spec.kind {
        case .hopping where usePanes:
            mergeWindow(key: key, end: ents[Int(newest)].start &+ slide)  // the window ending with the newest pane
        case .sliding:
            mergeSlidingWindow(key: key, at: ents[Int(newest)].start)
        default:
            return latestWindowInPlace(of: key)
        }
        var values = ContiguousArray<Double>(repeating: 0, count: store.columnCount)
        store.output(0, into: &values, at: 0)
        return (ents[0].start, ents[0].end, values)
    }

    /// Whether a key's latest window is merged from several entries (hopping windows by panes,
    /// sliding windows), which takes an ``isolated(keyBytes:)`` copy to build; the other kinds
    /// read it in place (``latestWindowInPlace(of:)``).
    var latestWindowIsMerged: Bool {
        switch spec.kind {
        case .hopping: usePanes
        case .sliding: true
        case .tumbling, .session, .count: false
        }
    }

    /// Key `key`'s latest window as ``latestWindow()`` of its isolated copy gives it, read in
    /// place without a copy; only when not ``latestWindowIsMerged``. Nil when the key holds no
    /// window. O(the key's live windows).
    func latestWindowInPlace(of key: Int32) -> (start: Int64, end: Int64, values: ContiguousArray<Double>)? {
        let entry = latestEntry(of: key)
        guard entry >= 0 else { return nil }
        var values = ContiguousArray<Double>(repeating: 0, count: store.columnCount)
        store.output(entry, into: &values, at: 0)
        return (ents[Int(entry)].start, ents[Int(entry)].end, values)
    }

    /// Of key `key`'s windows, the newest (latest start, then latest end); for hopping windows
    /// without panes, the earliest window holding the newest slide. -1 when it holds none.
    func latestEntry(of key: Int32) -> Int32 {
        guard Int(key) < keyHead.count, keyHead[Int(key)] >= 0 else { return -1 }
        var newest: Int32 = -1
        var e = keyHead[Int(key)]
        while e >= 0 {
            if newest < 0 || ents[Int(e)].start > ents[Int(newest)].start
                || (ents[Int(e)].start == ents[Int(newest)].start && ents[Int(e)].end > ents[Int(newest)].end) { newest = e }
            e = ents[Int(e)].next
        }
        guard case .hopping = spec.kind, !usePanes else { return newest }
        let first = ents[Int(newest)].start &- size &+ slide
        var entry = newest
        var x = keyHead[Int(key)]
        while x >= 0 {
            let s = ents[Int(x)].start
            if s >= first && s < ents[Int(entry)].start { entry = x }
            x = ents[Int(x)].next
        }
        return entry
    }
}

extension AccumulatorStore {
    /// Drops every entry and sketch (fresh storage, nothing shared is mutated).
    mutating func clearAll() {
        slots = []
        hlls = []
        klls = []
        tops = []
        freeHLL = []
        freeKLL = []
        freeTop = []
        sketchBytes = 0
    }

    /// Copies entry `src` of `other` (same aggregates) into this store's prepared entry `dst`:
    /// scalar slots as they are, sketches by value into `dst`'s own sketches.
    mutating func copyEntry(_ dst: Int32, from other: AccumulatorStore, _ src: Int32) {
        let bd = Int(dst) * stride, bs = Int(src) * other.stride
        for a in aggs {
            switch a.op {
            case .distinct:
                let h = Int(slots[bd + a.slot])
                sketchBytes -= hlls[h].storageBytes
                hlls[h] = other.hlls[Int(other.slots[bs + a.slot])]
                sketchBytes += hlls[h].storageBytes
            case .quantile:
                let h = Int(slots[bd + a.slot])
                sketchBytes -= klls[h].storageBytes
                klls[h] = other.klls[Int(other.slots[bs + a.slot])]
                sketchBytes += klls[h].storageBytes
            case .topK:
                let h = Int(slots[bd + a.slot])
                sketchBytes -= tops[h].storageBytes
                tops[h] = other.tops[Int(other.slots[bs + a.slot])]
                sketchBytes += tops[h].storageBytes
            case .count: slots[bd + a.slot] = other.slots[bs + a.slot]
            case .min, .max, .ewma, .sum: for j in 0..<2 { slots[bd + a.slot + j] = other.slots[bs + a.slot + j] }
            case .first, .last, .mean: for j in 0..<3 { slots[bd + a.slot + j] = other.slots[bs + a.slot + j] }
            case .variance, .std: for j in 0..<4 { slots[bd + a.slot + j] = other.slots[bs + a.slot + j] }
            }
        }
    }
}
