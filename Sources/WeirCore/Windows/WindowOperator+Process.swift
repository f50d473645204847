extension WindowOperator {
    /// What happened to one event in this operator.
    public enum EventOutcome: UInt8, Sendable {
        case accepted, late, rejectedKey
    }

    /// Processes row `row` of `batch` (event time `ts`) at watermark `wm` (the watermark before
    /// this event). Emits to `results`; a late event is appended to `late`.
    @discardableResult
    public mutating func process(_ batch: RecordBatch, row: Int, ts: Int64, watermark wm: Int64,
                                 results: inout WindowResults, late: inout ContiguousArray<LateEvent>) -> EventOutcome {
        let outcome: EventOutcome
        switch spec.kind {
        case .tumbling, .hopping: outcome = usePanes ? processPane(batch, row, ts, wm, &results) : processAligned(batch, row, ts, wm, &results)
        case .session: outcome = processSession(batch, row, ts, wm, &results)
        case .sliding: outcome = processSliding(batch, row, ts, wm, &results)
        case .count: outcome = processCount(batch, row, ts, &results)
        }
        if outcome != .accepted { clearCurrent() }
        if outcome == .late {
            stats.lateEvents += 1
            late.append(LateEvent(window: index, partition: batch.partition(row), offset: batch.offset(row),
                                  eventTime: ts, watermark: wm, row: row))
        }
        return outcome
    }

    @inline(__always)
    func floorMod(_ a: Int64, _ b: Int64) -> Int64 { let r = a % b; return r < 0 ? r + b : r }

    /// The start of the last `slide`-aligned window containing `ts`:
    /// `ts − floorMod(ts − offset, slide)`. The last result is cached, so events of the same
    /// slide (the common case) need no division.
    @inline(__always)
    mutating func alignedStart(_ ts: Int64) -> Int64 {
        let c = cachedAlignedStart
        if c != .min && ts >= c {
            let (d, o) = ts.subtractingReportingOverflow(c)
            if !o && d < slide { return c }
        }
        let s = ts &- floorMod(ts &- offset, slide)
        cachedAlignedStart = s
        return s
    }

    mutating func processAligned(_ batch: RecordBatch, _ row: Int, _ ts: Int64, _ wm: Int64,
                                 _ results: inout WindowResults) -> EventOutcome {
        let lastStart = alignedStart(ts)
        if isLate(end: lastStart &+ size, watermark: wm) { return .late }
        guard let key = resolveKey(batch, row) else { return .rejectedKey }
        if size == slide {
            // tumbling: the one window [lastStart, lastStart + size) (not late, checked above);
            // newest first, as an event almost always falls in the key's latest window
            var e = keyTail[Int(key)]
            while e >= 0 && ents[Int(e)].start != lastStart { e = ents[Int(e)].prev }
            if e < 0 {
                e = allocEntry(key: key, start: lastStart, end: lastStart &+ size)
                schedule(e, watermark: wm)
            }
            touch(e)
            if store.hasSketches {
                store.extract(batch, row: row, into: &inputs)
                store.apply(e, inputs, ts: ts)
            } else {
                store.applyRow(e, batch, row: row, ts: ts)
            }
            noteUpdate(e, wm: wm, &results)
            captureCurrent(e)
            return .accepted
        }
        store.extract(batch, row: row, into: &inputs)
        // One pass over the key's windows: update those containing ts, note which exist.
        var found: UInt64 = 0
        var featureEntry: Int32 = -1
        var featureStart = Int64.max
        var e = keyHead[Int(key)]
        while e >= 0 {
            let st = ents[Int(e)].start
            if st <= lastStart && st > ts &- size {
                let j = Int((lastStart &- st) / slide)
                if j < 64 { found |= 1 << UInt64(j) }
                updateAligned(e, ts: ts, wm: wm, &results)
                if st < featureStart { featureStart = st; featureEntry = e }
            }
            e = ents[Int(e)].next
        }
        var s = lastStart
        var j = 0
        while s > ts &- size {
            let end = s &+ size
            if isLate(end: end, watermark: wm) {
                stats.lateWindowSkips += 1
            } else if j >= 64 || found & (1 << UInt64(j)) == 0 {
                var x: Int32 = -1
                if j >= 64 {  // very many windows per event: search
                    var y = keyHead[Int(key)]
                    while y >= 0 && ents[Int(y)].start != s { y = ents[Int(y)].next }
                    x = y
                }
                if x < 0 {
                    x = allocEntry(key: key, start: s, end: end)
                    schedule(x, watermark: wm)
                    updateAligned(x, ts: ts, wm: wm, &results)
                }
                if s < featureStart { featureStart = s; featureEntry = x }
            }
            s &-= slide
            j += 1
        }
        if featureEntry >= 0 { captureCurrent(featureEntry) }
        return .accepted
    }

    @inline(__always)
    mutating func updateAligned(_ e: Int32, ts: Int64, wm: Int64, _ results: inout WindowResults) {
        touch(e)
        store.apply(e, inputs, ts: ts)
        noteUpdate(e, wm: wm, &results)
    }

    /// After an update of entry `e`: a window already past the watermark (within lateness) is
    /// emitted now.
    @inline(__always)
    mutating func noteUpdate(_ e: Int32, wm: Int64, _ results: inout WindowResults) {
        let end = ents[Int(e)].end
        if wm >= end &- 1 {
            let f = ents[Int(e)].flags
            if f & 2 != 0 { stats.lateUpdates += 1 }
            ents[Int(e)].flags |= 1
            emit(e, f & 2 != 0 ? .lateUpdate : .onTime, into: &results)
        }
    }

    mutating func processSession(_ batch: RecordBatch, _ row: Int, _ ts: Int64, _ wm: Int64,
                                 _ results: inout WindowResults) -> EventOutcome {
        let ws = ts, we = ts &+ size
        // Find the merged bounds first (no key is created for a late event).
        var key: Int32 = -1
        var ms = ws, me = we
        if keyField < 0 { key = 0 } else {
            let found: Int32? = lookupKey(batch, row)
            if let f = found { key = f }
        }
        if key >= 0 {
            var e = keyHead[Int(key)]
            while e >= 0 {
                let i = Int(e)
                if ents[i].start <= we && ents[i].end >= ws { ms = min(ms, ents[i].start); me = max(me, ents[i].end) }
                e = ents[i].next
            }
        }
        if isLate(end: me, watermark: wm) { return .late }
        if key < 0 { guard let k = resolveKey(batch, row) else { return .rejectedKey }; key = k }
        store.extract(batch, row: row, into: &inputs)
        var target: Int32 = -1
        var emitted = false
        var e = keyHead[Int(key)]
        while e >= 0 {
            let i = Int(e)
            let next = ents[i].next
            if ents[i].start <= we && ents[i].end >= ws {
                if ents[i].flags & 2 != 0 { emitted = true }
                if target < 0 { target = e } else {
                    touch(target)
                    store.merge(into: target, from: e)
                    freeEntry(e)
                }
            }
            e = next
        }
        if target < 0 {
            target = allocEntry(key: key, start: ms, end: me)
            schedule(target, watermark: wm)
        } else if ents[Int(target)].start != ms || ents[Int(target)].end != me {
            ents[Int(target)].start = ms
            ents[Int(target)].end = me
            ents[Int(target)].gen &+= 1
            if me &- 1 > wm { ents[Int(target)].flags &= ~1 }
            schedule(target, watermark: wm)
        }
        if emitted { ents[Int(target)].flags |= 2 }
        touch(target)
        store.apply(target, inputs, ts: ts)
        if wm >= me &- 1 {
            let f = ents[Int(target)].flags
            if f & 2 != 0 { stats.lateUpdates += 1 }
            ents[Int(target)].flags |= 1
            emit(target, f & 2 != 0 ? .lateUpdate : .onTime, into: &results)
        }
        captureCurrent(target)
        return .accepted
    }

    /// Looks a key up without inserting it.
    mutating func lookupKey(_ batch: RecordBatch, _ row: Int) -> Int32? {
        let present = batch.isPresent(row, keyField)
        if keyType == .string && present {
            return batch.withStringBytes(row, keyField) { b in
                let p = b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                return keys.lookup(p, b.count, hash: weirHashBytes(p, b.count))
            }
        }
        var raw = present ? batch.raw(row, keyField).littleEndian : 0
        let n = present ? 8 : 0
        return withUnsafeBytes(of: &raw) { b in keys.lookup(b.baseAddress!, n, hash: weirHashBytes(b.baseAddress!, n)) }
    }

    mutating func processSliding(_ batch: RecordBatch, _ row: Int, _ ts: Int64, _ wm: Int64,
                                 _ results: inout WindowResults) -> EventOutcome {
        if isLate(end: ts &+ 1, watermark: wm) { return .late }
        guard let key = resolveKey(batch, row) else { return .rejectedKey }
        store.extract(batch, row: row, into: &inputs)
        let e = allocEntry(key: key, start: ts, end: ts &+ 1)
        let w = 2 * store.aggregateCount
        let base = Int(e) * w
        while stored.count < base + w { stored.append(0) }
        for i in 0..<store.aggregateCount {
            stored[base + 2 * i] = inputs.present[i] ? 1 : 0
            stored[base + 2 * i + 1] = inputs.values[i]
        }
        // purge once no future in-time event can include it: ts + length + lateness − 1 ≤ wm
        pushPurgeTimer(e, lastWindowEnd: ts &+ size, spread: false)
        mergeSlidingWindow(key: key, at: ts)
        emit(0, .perEvent, into: &results)
        captureCurrent(0)
        return .accepted
    }

    /// Sliding windows: aggregates the key's stored events in `(ts − length, ts]`, in arrival
    /// order, into the scratch entry 0 (its bounds and key set).
    @inline(__always)
    mutating func mergeSlidingWindow(key: Int32, at ts: Int64) {
        let w = 2 * store.aggregateCount
        store.reset(0)
        var x = keyHead[Int(key)]
        while x >= 0 {
            let t = ents[Int(x)].start
            if t > ts &- size && t <= ts {
                let b = Int(x) * w
                for i in 0..<store.aggregateCount {
                    scratchInputs.present[i] = stored[b + 2 * i] != 0
                    scratchInputs.values[i] = stored[b + 2 * i + 1]
                }
                store.apply(0, scratchInputs, ts: t)
            }
            x = ents[Int(x)].next
        }
        ents[0].start = ts &- size &+ 1
        ents[0].end = ts &+ 1
        ents[0].key = key
    }

    mutating func processCount(_ batch: RecordBatch, _ row: Int, _ ts: Int64, _ results: inout WindowResults) -> EventOutcome {
        guard let key = resolveKey(batch, row) else { return .rejectedKey }
        store.extract(batch, row: row, into: &inputs)
        var e = keyHead[Int(key)]
        if e < 0 { e = allocEntry(key: key, start: 0, end: 0) }
        touch(e)
        store.apply(e, inputs, ts: ts)
        ents[Int(e)].end += 1
        captureCurrent(e)
        if ents[Int(e)].end >= countN {
            let seq = ents[Int(e)].start
            ents[Int(e)].end = seq + 1
            emit(e, .countReached, into: &results)
            store.reset(e)
            ents[Int(e)].start = seq + 1
            ents[Int(e)].end = 0
        }
        return .accepted
    }
}
