import WeirStats

/// A keyed window aggregation: assigns each event to windows of its key, keeps per-key,
/// per-window accumulator state, fires windows on the watermark and purges them after the
/// allowed lateness.
///
/// State layout: keys are interned to dense ids (``ByteInterner``); each live window is an
/// "entry" (start, end, key, links, flags, generation) whose accumulators live in an
/// ``AccumulatorStore`` slab; a min-heap holds fire (`end − 1`) and purge (`end − 1 + lateness`)
/// timers. Closed windows are freed at purge time and a key is freed with its last window, so
/// memory is bounded by the live windows. Entry 0 is a scratch entry.
///
/// Lateness (Flink): an event is late for a window when `end − 1 + lateness ≤ watermark`; it goes
/// to the late output (and ``Stats/lateEvents``) when it is late for every window it belongs to.
/// - Complexity: per event O(windows per event × aggregates) plus O(windows of the key) to find
///   them (sliding: O(events of the key in the window)). Allocation-free in steady state.
public struct WindowOperator: Sendable {
    /// Counters of one operator.
    public struct Stats: Sendable, Equatable {
        /// Events later than the allowed lateness for all their windows (sent to the late output).
        public var lateEvents = 0
        /// Per-window skips of events late for some (not all) of their hopping windows.
        public var lateWindowSkips = 0
        /// Events of new keys rejected by the key limit or while new keys are refused
        /// (``WindowOperator/admitsNewKeys``).
        public var rejectedKeyEvents = 0
        /// Result rows emitted.
        public var emitted = 0
        /// Events that updated an already-fired window (within lateness).
        public var lateUpdates = 0
    }

    public let spec: WindowSpec
    /// Operator index within its graph (tags results and late events).
    public let index: Int
    /// Output column names (aggregate columns, in order).
    public var columnNames: [String] { store.columnNames }
    public internal(set) var stats = Stats()

    @usableFromInline var store: AccumulatorStore
    let keyField: Int
    let keyType: FieldType
    let size: Int64, slide: Int64, offset: Int64, lateness: Int64, countN: Int64
    /// Hopping windows with `size % hop == 0` and mergeable aggregates keep one accumulator per
    /// `hop`-wide pane and merge `size / hop` panes when a window fires (one update per event).
    /// Each key's panes are linked in ascending start order (``processPane`` searches from the
    /// newest and stops at the first older pane, instead of walking every live pane).
    let usePanes: Bool
    /// True after restoring pane state written by a Weir before sorted pane lists (links in
    /// arrival order, which differs from start order only for out-of-order events): the next
    /// event sorts every key's panes first (``sortPaneLists()``, journaled).
    var panesNeedSorting = false
    @usableFromInline var keys: ByteInterner
    @usableFromInline var keyHead = ContiguousArray<Int32>()
    @usableFromInline var keyTail = ContiguousArray<Int32>()
    /// One window (or pane, or stored sliding event): 40 bytes, one cache line with its neighbours.
    @usableFromInline
    struct Entry: Sendable, Equatable {
        @usableFromInline var start: Int64
        @usableFromInline var end: Int64
        @usableFromInline var key: Int32
        @usableFromInline var next: Int32
        @usableFromInline var prev: Int32
        @usableFromInline var gen: UInt32
        /// bit0 fired, bit1 emitted, bit2 live.
        @usableFromInline var flags: UInt8
        /// The checkpoint epoch the entry last changed in (incremental checkpoints; in the
        /// padding of the 40-byte stride, not part of snapshots).
        @usableFromInline var stamp: UInt32 = 0
    }
    @usableFromInline var ents = ContiguousArray<Entry>()
    @usableFromInline var freeEntries = ContiguousArray<Int32>()
    @usableFromInline var timers = TimerHeap()
    @usableFromInline var inputs: AggregateInputs
    @usableFromInline var scratchInputs: AggregateInputs
    /// Sliding windows: stored per-event inputs, `2 × aggregates` per entry (present, value).
    @usableFromInline var stored = ContiguousArray<Double>()
    /// Live windows (entries), excluding the scratch entry.
    public internal(set) var liveWindows = 0
    /// Values of the window of the last processed event (all columns; 0 when the event was late
    /// or rejected). Filled only for aggregates flagged in `currentMask`.
    public internal(set) var current: ContiguousArray<Double>
    var currentMask: ContiguousArray<Bool>
    var needsCurrent = false
    /// Batch look-ahead hints per row of the current record batch (speed only, never results):
    /// the key's hash and its id as last looked up (−1 unknown).
    var hints = ContiguousArray<LookaheadHint>()
    struct LookaheadHint { var hash: UInt64; var id: Int32 }
    /// Rows of the current batch whose `hints[row].hash` is the key's hash (set by the batch
    /// loop while it runs; empty otherwise).
    var hashedRows = 0..<0
    /// Scratch of ``advance(to:results:)``: a run of due timers.
    var dueTimers = ContiguousArray<Timer>()
    /// Last result of ``alignedStart(_:)`` (`.min`: none).
    var cachedAlignedStart = Int64.min
    /// Incremental checkpoints (see `WindowOperator+Increment.swift`): the structural operations
    /// of the current epoch (key inserts, entry allocations and frees, timer pushes and pops, in
    /// order) and the epoch the journal belongs to (entries carry their own `stamp`). Not part of
    /// snapshots.
    var journal = ByteWriter()
    var journalEpoch: UInt32 = 0
    /// The journal's delta bases (the last window start and timer time written), reset with it.
    var journalBase = CompactDeltas()
    /// Shared by copies of this operator: advanced by ``StreamGraph/markCheckpointed()``.
    let changes = ChangeClock()
    /// `changes`' cells (epoch, tracking), read on the hot path without reference counting.
    let clock: ChangeClock.Cells

    /// True when events are keyed by a field (one state per key).
    public var isKeyed: Bool { keyField >= 0 }

    /// Builds the operator against `schema`.
    /// - Throws: ``SchemaError`` for bad window parameters, key or aggregate fields.
    public init(spec: WindowSpec, schema: Schema, index: Int = 0) throws(SchemaError) {
        self.spec = spec
        self.index = index
        clock = changes.cells
        store = try AccumulatorStore(specs: spec.aggregates, schema: schema)
        if let kf = spec.keyField {
            keyField = try schema.requireField(kf, types: [.string, .category, .int, .bool])
            keyType = schema.fields[keyField].type
        } else { keyField = -1; keyType = .int }
        guard spec.allowedLateness >= 0 else { throw .invalidWindow(detail: "\(spec.name): negative lateness") }
        guard spec.maxKeys >= 1 else { throw .invalidWindow(detail: "\(spec.name): maxKeys < 1") }
        switch spec.kind {
        case .tumbling(let s, let o):
            guard s > 0 else { throw .invalidWindow(detail: "\(spec.name): size must be > 0") }
            size = s; slide = s; offset = o; countN = 0
        case .hopping(let s, let h, let o):
            guard s > 0, h > 0, h <= s else { throw .invalidWindow(detail: "\(spec.name): need 0 < hop ≤ size") }
            size = s; slide = h; offset = o; countN = 0
        case .sliding(let n):
            guard n > 0 else { throw .invalidWindow(detail: "\(spec.name): length must be > 0") }
            size = n; slide = 1; offset = 0; countN = 0
        case .session(let g):
            guard g > 0 else { throw .invalidWindow(detail: "\(spec.name): gap must be > 0") }
            guard store.isMergeable else { throw .invalidWindow(detail: "\(spec.name): session windows need mergeable aggregates (no ewma)") }
            size = g; slide = g; offset = 0; countN = 0
        case .count(let n):
            guard n > 0 else { throw .invalidWindow(detail: "\(spec.name): count must be > 0") }
            size = 0; slide = 0; offset = 0; countN = Int64(n)
        }
        lateness = spec.allowedLateness
        if case .hopping(let s, let h, _) = spec.kind, s % h == 0, s > h, store.isMergeable { usePanes = true } else { usePanes = false }
        keys = ByteInterner(capacity: 64)
        inputs = AggregateInputs(count: store.aggregateCount)
        scratchInputs = AggregateInputs(count: store.aggregateCount)
        current = ContiguousArray(repeating: 0, count: store.columnCount)
        currentMask = ContiguousArray(repeating: false, count: store.aggregateCount)
        // entry 0: scratch
        _ = allocEntry(key: -1, start: 0, end: 0, link: false)
        if keyField < 0 { _ = keys.intern([UInt8]()) ; keyHead.append(-1); keyTail.append(-1) }
    }

    /// Requests that ``current`` be filled for the aggregate producing column `column`.
    public mutating func requireCurrent(column: Int) {
        for (i, a) in store.aggs.enumerated() {
            let w = (i + 1 < store.aggs.count ? store.aggs[i + 1].column : store.columnCount) - a.column
            if column >= a.column && column < a.column + w { currentMask[i] = true }
        }
        needsCurrent = true
    }

    /// Number of live keys.
    public var keyCount: Int { keyField < 0 ? (liveWindows > 0 ? 1 : 0) : keys.count }

    /// Whether a key not yet held may be added; false while the state is over its memory budget
    /// (keys already held keep working). Set by the runtime; not part of snapshots.
    public var admitsNewKeys = true

    /// Approximate bytes of state in use by live windows and keys: what ``stateBytes`` would be
    /// if the freed entries, keys and timers were given back. Freed room is reused before the
    /// state grows, so this is what a memory budget compares (``stateBytes`` never shrinks below
    /// its peak). O(1).
    public var liveStateBytes: Int {
        liveWindows * (store.bytesPerEntry + 8 + 8 + 4 + 4 + 4 + 1 + 4) + store.sketchStorageBytes
            + keys.liveBytes + keys.count * 8 + timers.items.count * 24 + stored.count * 8
    }

    /// Approximate bytes of state held (slots, sketches, entry metadata, keys, timers).
    public var stateBytes: Int {
        let entries = ents.count
        return entries * (store.bytesPerEntry + 8 + 8 + 4 + 4 + 4 + 1 + 4) + store.sketchStorageBytes
            + keys.memoryBytes + keyHead.count * 8 + timers.items.count * 24 + stored.count * 8
    }

    // MARK: entries

    /// Takes a free entry (or a new one) for `key`'s window `[start, end)`. `link`: appended to the
    /// key's list, or with `after` inserted behind entry `after` of the key (−1: at the head).
    @inline(__always)
    mutating func allocEntry(key: Int32, start: Int64, end: Int64, link: Bool = true, after: Int32? = nil) -> Int32 {
        if clock[1] != 0 { journalAlloc(key: key, start: start, end: end, link: link, after: after) }
        let e: Int32
        if let f = freeEntries.popLast() {
            e = f
            ents[Int(e)].start = start; ents[Int(e)].end = end; ents[Int(e)].key = key
            ents[Int(e)].next = -1; ents[Int(e)].prev = -1; ents[Int(e)].flags = 4; ents[Int(e)].gen &+= 1
            // freeEntry returned this entry's sketches to the pools: take sketches anew
            // (a plain reset would share a pooled sketch with the next entry that takes it)
            store.reset(e, fresh: true)
        } else {
            e = Int32(ents.count)
            ents.append(Entry(start: start, end: end, key: key, next: -1, prev: -1, gen: 0, flags: 4))
            store.prepare(e)
        }
        touch(e)
        if link {
            let k = Int(key)
            if let a = after {
                let n = a >= 0 ? ents[Int(a)].next : keyHead[k]
                ents[Int(e)].prev = a
                ents[Int(e)].next = n
                if a >= 0 { ents[Int(a)].next = e } else { keyHead[k] = e }
                if n >= 0 { ents[Int(n)].prev = e } else { keyTail[k] = e }
            } else {
                let t = keyTail[k]
                ents[Int(e)].prev = t
                if t >= 0 { ents[Int(t)].next = e } else { keyHead[k] = e }
                keyTail[k] = e
            }
            liveWindows += 1
        }
        return e
    }

    /// Unlinks and frees an entry; frees its key when it was the key's last entry.
    mutating func freeEntry(_ e: Int32) {
        if clock[1] != 0 { journalFree(e) }
        touch(e)
        let i = Int(e)
        let k = Int(ents[i].key)
        let p = ents[i].prev, n = ents[i].next
        if p >= 0 { ents[Int(p)].next = n } else { keyHead[k] = n }
        if n >= 0 { ents[Int(n)].prev = p } else { keyTail[k] = p }
        ents[i].flags = 0
        ents[i].gen &+= 1
        store.release(e)
        freeEntries.append(e)
        liveWindows -= 1
        if keyHead[k] < 0 && keyField >= 0 { keys.remove(Int32(k)) }
    }

    /// Resolves the key of a row to its id, interning new keys within the limit; nil = rejected.
    @inline(__always)
    mutating func resolveKey(_ batch: RecordBatch, _ row: Int) -> Int32? {
        if keyField < 0 { return 0 }
        let present = batch.isPresent(row, keyField)
        // the batch look-ahead already hashed this row's key (same bytes, same function)
        let hashed: UInt64? = hashedRows.contains(row) ? hints[row].hash : nil
        let id: Int32?
        if keyType == .string && present {
            id = batch.withStringBytes(row, keyField) { b in internKey(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count, hash: hashed) }
        } else {
            var raw = present ? batch.raw(row, keyField).littleEndian : 0
            let n = present ? 8 : 0
            id = withUnsafeBytes(of: &raw) { b in internKey(b.baseAddress!, n, hash: hashed) }
        }
        guard let id else { stats.rejectedKeyEvents += 1; return nil }
        return id
    }

    @inline(__always)
    mutating func internKey(_ p: UnsafeRawPointer, _ n: Int, hash: UInt64? = nil) -> Int32? {
        let h = hash ?? weirHashBytes(p, n)
        if let id = keys.lookup(p, n, hash: h) { return id }
        if keys.count >= spec.maxKeys || !admitsNewKeys { return nil }
        if clock[1] != 0 { journalNewKey(p, n) }
        return addKey(p, n, hash: h)
    }

    /// Inserts a key known to be absent and gives it an empty entry list.
    mutating func addKey(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64) -> Int32 {
        let id = keys.insertNew(p, n, hash: h)
        while keyHead.count <= Int(id) { keyHead.append(-1); keyTail.append(-1) }
        keyHead[Int(id)] = -1; keyTail[Int(id)] = -1
        return id
    }

    // MARK: emission

    mutating func emit(_ e: Int32, _ kind: ResultKind, into results: inout WindowResults) {
        touch(e)
        ents[Int(e)].flags |= 2
        guard spec.emitResults else { return }
        stats.emitted += 1
        let k = ents[Int(e)].key
        let o: Int = keys.withBytes(of: k) { kb in
            results.append(window: index, kind: kind, start: ents[Int(e)].start, end: ents[Int(e)].end, key: kb, valueCount: store.columnCount)
        }
        store.output(e, into: &results.values, at: o)
    }

    @inline(__always)
    mutating func captureCurrent(_ e: Int32) {
        guard needsCurrent else { return }
        if store.hasSketches {
            store.output(e, into: &current, at: 0, only: currentMask)
        } else {
            store.outputScalars(e, into: &current, mask: currentMask)
        }
    }

    @inline(__always)
    mutating func clearCurrent() {
        guard needsCurrent else { return }
        for i in 0..<current.count { current[i] = 0 }
    }

    @inline(__always)
    func isLate(end: Int64, watermark wm: Int64) -> Bool {
        // end − 1 + lateness ≤ wm, without overflow
        let (c, o) = (end &- 1).addingReportingOverflow(lateness)
        return !o && c <= wm
    }

    @inline(__always)
    mutating func schedule(_ e: Int32, watermark wm: Int64) {
        let end = ents[Int(e)].end
        if end - 1 > wm && spec.emitResults { pushTimer(Timer(time: end - 1, entry: e, gen: ents[Int(e)].gen, kind: 0)) }
        // spread for tumbling windows only: other kinds read a key's windows by range (a lingering one would be updated)
        let tumbling = if case .tumbling = spec.kind { true } else { false }
        pushPurgeTimer(e, lastWindowEnd: end, spread: tumbling)
    }

    /// Schedules freeing entry `e`, whose last window ends at `end`: once no in-time event can
    /// reach it (`end − 1 + lateness`), plus ``purgeSpread(entry:)`` when `spread`; never on
    /// overflow.
    @inline(__always)
    mutating func pushPurgeTimer(_ e: Int32, lastWindowEnd end: Int64, spread: Bool) {
        let (c, o) = (end &- 1).addingReportingOverflow(lateness)
        let (t, o2) = c.addingReportingOverflow(spread ? purgeSpread(entry: e) : 0)
        pushTimer(Timer(time: o || o2 ? .max : t, entry: e, gen: ents[Int(e)].gen, kind: 2))
    }

    /// How much later than `end − 1 + lateness` (when no event can reach it any more) a tumbling
    /// window or a pane in entry `e` is freed: `[0, slide / 4)`, the same for each block of 512
    /// entries and scattered between blocks, so the windows of many keys that close together are
    /// freed over a quarter of a slide of event time instead of in one watermark step (20,000
    /// users' panes at once held card-fraud's run loop, and the serving requests queued behind
    /// it, for 4–6 ms), while the entries freed together stay neighbours in memory (scattering
    /// every entry cost 15% of the replay at 1M keys). A window past its lateness is never read
    /// (events for it are late, merges and features take only the windows in range), so this
    /// delays only the freeing: at most about one more window per key lingers. Deterministic in
    /// the entry index. O(1).
    @inline(__always)
    func purgeSpread(entry e: Int32) -> Int64 {
        let span = slide / 4
        guard span > 1, e > 0 else { return 0 }
        return Int64(truncatingIfNeeded: SplitMix64.mix(UInt64(e >> 9)) >> 1) % span
    }

    /// True when some timer is due at watermark `wm` (``advance(to:results:)`` would act).
    @inline(__always)
    public func hasDueTimer(at wm: Int64) -> Bool {
        guard let t = timers.top else { return false }
        return t.time <= wm
    }

    /// Fires and purges windows whose timers are due at watermark `wm`.
    ///
    /// Due timers are popped in runs of up to 64 and processed in the same order as popped
    /// (processing a timer never adds one), so the state each needs can be prefetched a few
    /// timers ahead (see ``processDue(_:)``); a purge of many windows at once (every key's window
    /// closing at the same time) then overlaps its cache misses.
    public mutating func advance(to wm: Int64, results: inout WindowResults) {
        while let t = timers.top, t.time <= wm {
            dueTimers.removeAll(keepingCapacity: true)
            while dueTimers.count < 64, let t = timers.top, t.time <= wm {
                _ = timers.pop()
                if clock[1] != 0 { journalPop() }
                dueTimers.append(t)
            }
            processDue(&results)
        }
    }

    /// Processes one due timer: fires or purges its entry unless the timer is stale.
    @inline(__always)
    mutating func processTimer(_ t: Timer, _ results: inout WindowResults) {
        let i = Int(t.entry)
        guard i < ents.count, ents[i].gen == t.gen, ents[i].flags & 4 != 0 else { return }
        if t.kind == 0 {
            if ents[i].flags & 1 == 0 {
                ents[i].flags |= 1
                emit(t.entry, ents[i].flags & 2 != 0 ? .lateUpdate : .onTime, into: &results)
            }
        } else if t.kind == 1 {
            emitPaneWindow(key: ents[i].key, end: t.time &+ 1, kind: .onTime, into: &results)
        } else {
            freeEntry(t.entry)
        }
    }

    /// Emits every live, not yet fired event-time window (kind `.flushed`) and frees all state
    /// (end of input). Count windows emit their partial windows.
    public mutating func flush(results: inout WindowResults) {
        if clock[1] != 0 { journalClearTimers() }
        if usePanes {
            while let t = timers.pop() {
                let i = Int(t.entry)
                guard t.kind == 1, ents[i].gen == t.gen, ents[i].flags & 4 != 0 else { continue }
                emitPaneWindow(key: ents[i].key, end: t.time &+ 1, kind: .flushed, into: &results)
            }
        }
        for e in 1..<Int32(ents.count) where ents[Int(e)].flags & 4 != 0 {
            if usePanes { freeEntry(e); continue }
            if spec.kind == .sliding(length: size) { freeEntry(e); continue }
            if countN > 0 {
                if ents[Int(e)].end > 0 { ents[Int(e)].end = ents[Int(e)].start + 1; emit(e, .flushed, into: &results) }
            } else if ents[Int(e)].flags & 1 == 0 {
                emit(e, .flushed, into: &results)
            }
            freeEntry(e)
        }
        timers.items.removeAll(keepingCapacity: true)
    }
}
