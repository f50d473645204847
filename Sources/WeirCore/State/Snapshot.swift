import WeirStats

extension AccumulatorStore {
    /// Tag "WACC" v2: the slots as compact doubles (v1: 8 bytes each, still read).
    func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WACC", version: 2)
        w.write(stride); w.write(columnCount)
        w.writeVarint(UInt64(slots.count))
        for v in slots { w.writeCompact(v) }
        w.write(UInt64(hlls.count)); for h in hlls { h.serialize(into: &w) }
        w.write(UInt64(klls.count)); for k in klls { k.serialize(into: &w) }
        w.write(UInt64(tops.count)); for t in tops { t.serialize(into: &w) }
        w.writeArray(ContiguousArray(freeHLL)); w.writeArray(ContiguousArray(freeKLL)); w.writeArray(ContiguousArray(freeTop))
    }

    mutating func restore(from r: inout ByteReader) throws(SerializationError) {
        let version = try r.readHeader(tag: "WACC", supportedVersions: 1...2)
        guard try r.readInt() == stride, try r.readInt() == columnCount else {
            throw .invalidValue(field: "AccumulatorStore", detail: "layout differs from this graph's aggregates")
        }
        if version >= 2 {
            let n = try r.readVarintCount(field: "AccumulatorStore.slots", limit: r.remaining)
            slots = ContiguousArray()
            slots.reserveCapacity(n)
            for _ in 0..<n { slots.append(try r.readCompactDouble()) }
        } else {
            slots = try r.readDoubles("AccumulatorStore.slots")
        }
        guard slots.count % stride == 0 else { throw .invalidValue(field: "AccumulatorStore.slots", detail: "not a multiple of stride") }
        let nh = try r.readCount(field: "hlls", limit: r.remaining)
        hlls = []; for _ in 0..<nh { hlls.append(try HyperLogLog(deserializing: &r)) }
        let nk = try r.readCount(field: "klls", limit: r.remaining)
        klls = []; for _ in 0..<nk { klls.append(try KLLSketch(deserializing: &r)) }
        let nt = try r.readCount(field: "tops", limit: r.remaining)
        tops = []; for _ in 0..<nt { tops.append(try SpaceSaving(deserializing: &r)) }
        recountSketchBytes()
        freeHLL = Array(try r.readInt32s("freeHLL")); freeKLL = Array(try r.readInt32s("freeKLL")); freeTop = Array(try r.readInt32s("freeTop"))
        // sketch handles must point into the pools
        for e in 0..<(slots.count / stride) {
            for a in aggs {
                let h = slots[e * stride + a.slot]
                let limit: Int
                switch a.op {
                case .distinct: limit = hlls.count
                case .quantile: limit = klls.count
                case .topK: limit = tops.count
                default: continue
                }
                guard h >= 0, Int(h) < limit else { throw .invalidValue(field: "AccumulatorStore", detail: "sketch handle \(h) out of range") }
            }
        }
    }
}

extension WindowOperator {
    /// Tag "WWIN" v2: key lists, entries, free entries and timers as varints and deltas (window
    /// starts and lengths from the previous entry's, timer times from the previous timer's in heap
    /// order), the accumulators as compact doubles (``AccumulatorStore``'s "WACC" v2), the
    /// interner and sketches as before. v1 (fixed-width fields) is still read.
    func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WWIN", version: 2)
        w.write(spec.name)
        w.write(stats.lateEvents); w.write(stats.lateWindowSkips); w.write(stats.rejectedKeyEvents)
        w.write(stats.emitted); w.write(stats.lateUpdates)
        store.serialize(into: &w)
        keys.serialize(into: &w)
        w.writeVarint(UInt64(keyHead.count))
        for h in keyHead { w.writeZigzag(Int64(h)) }
        for t in keyTail { w.writeZigzag(Int64(t)) }
        var deltas = CompactDeltas()
        w.writeVarint(UInt64(ents.count))
        for x in ents { w.writeCompact(x, &deltas) }
        w.writeVarint(UInt64(freeEntries.count))
        for f in freeEntries { w.writeZigzag(Int64(f)) }
        w.writeVarint(UInt64(timers.items.count))
        for t in timers.items { w.writeCompact(t, &deltas) }
        w.writeVarint(UInt64(stored.count))
        for v in stored { w.writeCompact(v) }
        w.write(liveWindows)
    }

    mutating func restore(from r: inout ByteReader) throws(SerializationError) {
        let version = try r.readHeader(tag: "WWIN", supportedVersions: 1...2)
        let name = try r.readString(field: "WindowOperator.name")
        guard name == spec.name else { throw .invalidValue(field: "WindowOperator.name", detail: "snapshot has '\(name)', graph has '\(spec.name)'") }
        stats.lateEvents = try r.readInt(); stats.lateWindowSkips = try r.readInt(); stats.rejectedKeyEvents = try r.readInt()
        stats.emitted = try r.readInt(); stats.lateUpdates = try r.readInt()
        try store.restore(from: &r)
        keys = try ByteInterner(deserializing: &r)
        if version >= 2 {
            try restoreCompactLayout(from: &r)
        } else {
            keyHead = try r.readInt32s("keyHead"); keyTail = try r.readInt32s("keyTail")
            let ne = try r.readCount(field: "entries", limit: r.remaining / 33)
            ents = []
            for _ in 0..<ne {
                ents.append(Entry(start: try r.readInt64(), end: try r.readInt64(), key: try r.readInt32(), next: try r.readInt32(),
                                  prev: try r.readInt32(), gen: try r.readUInt32(), flags: try r.readUInt8()))
            }
            freeEntries = try r.readInt32s("freeEntries")
            let nt = try r.readCount(field: "timers", limit: r.remaining / 17)
            timers = TimerHeap()
            for _ in 0..<nt {
                timers.items.append(Timer(time: try r.readInt64(), entry: try r.readInt32(), gen: try r.readUInt32(), kind: try r.readUInt8()))
            }
            stored = try r.readDoubles("stored")
        }
        liveWindows = try r.readInt()
        journal.bytes.removeAll(keepingCapacity: true)
        journalEpoch = 0
        changes.epoch &+= 1  // a new base: an increment against the state before is void
        let n = ents.count
        guard n >= 1, store.entryCapacity >= n, keyHead.count == keyTail.count, keyHead.count >= keys.idLimit
        else { throw .invalidValue(field: "WindowOperator", detail: "inconsistent entry arrays") }
        for i in 0..<n {
            for link in [ents[i].next, ents[i].prev] where link < -1 || Int(link) >= n {
                throw .invalidValue(field: "WindowOperator", detail: "entry link out of range")
            }
            if ents[i].flags & 4 != 0 && i > 0 && (ents[i].key < 0 || Int(ents[i].key) >= keyHead.count) {
                throw .invalidValue(field: "WindowOperator", detail: "entry key out of range")
            }
        }
        for t in timers.items where t.entry < 0 || Int(t.entry) >= n {
            throw .invalidValue(field: "WindowOperator.timers", detail: "entry out of range")
        }
        for h in keyHead + keyTail where h < -1 || Int(h) >= n {
            throw .invalidValue(field: "WindowOperator.keyHead", detail: "entry out of range")
        }
        for f in freeEntries where f < 1 || Int(f) >= n { throw .invalidValue(field: "WindowOperator.freeEntries", detail: "out of range") }
        panesNeedSorting = anyPaneListUnsorted()
        if case .sliding = spec.kind, n > 1, stored.count < n * 2 * store.aggregateCount {
            throw .invalidValue(field: "WindowOperator.stored", detail: "\(stored.count) stored inputs for \(n) entries")
        }
    }
}

extension WindowOperator {
    /// Key lists, entries, free entries, timers and stored inputs as "WWIN" v2 writes them. Every
    /// count is bounded by the bytes left (each element takes at least one byte); the ranges are
    /// checked by ``restore(from:)``.
    private mutating func restoreCompactLayout(from r: inout ByteReader) throws(SerializationError) {
        func count(_ field: String, perElement: Int = 1) throws(SerializationError) -> Int {
            try r.readVarintCount(field: field, limit: r.remaining / perElement)
        }
        let nk = try count("keyHead", perElement: 2)
        keyHead = ContiguousArray()
        keyTail = ContiguousArray()
        keyHead.reserveCapacity(nk)
        keyTail.reserveCapacity(nk)
        for _ in 0..<nk { keyHead.append(try r.readZigzagInt32(field: "keyHead")) }
        for _ in 0..<nk { keyTail.append(try r.readZigzagInt32(field: "keyTail")) }
        let ne = try count("entries", perElement: 7)
        ents = []
        ents.reserveCapacity(ne)
        var deltas = CompactDeltas()
        for _ in 0..<ne { ents.append(try r.readCompactEntry(&deltas, field: "entry")) }
        let nf = try count("freeEntries")
        freeEntries = ContiguousArray()
        freeEntries.reserveCapacity(nf)
        for _ in 0..<nf { freeEntries.append(try r.readZigzagInt32(field: "freeEntries")) }
        let nt = try count("timers", perElement: 4)
        timers = TimerHeap()
        timers.items.reserveCapacity(nt)
        for _ in 0..<nt { timers.items.append(try r.readCompactTimer(&deltas, field: "timer")) }
        let ns = try count("stored")
        stored = ContiguousArray()
        stored.reserveCapacity(ns)
        for _ in 0..<ns { stored.append(try r.readCompactDouble()) }
    }
}

extension StreamGraph {
    /// The graph's whole state as bytes: watermarks, open-category interners, and every window
    /// operator's keys, windows, accumulators, sketches and timers. Outputs are not included.
    /// - Complexity: O(state size).
    public func snapshot() -> [UInt8] {
        var w = ByteWriter(capacity: 4096)
        snapshot(into: &w)
        return w.bytes
    }

    /// Appends ``snapshot()``'s bytes to `w` (no buffer of its own).
    public func snapshot(into w: inout ByteWriter) {
        w.writeHeader(tag: "WGRF", version: 1)
        writeShared(into: &w)
        for op in windows { op.serialize(into: &w) }
    }

    /// The parts of the graph's state that are small and written whole in snapshots and
    /// increments alike: watermarks, counters and the open-category interners.
    private func writeShared(into w: inout ByteWriter) {
        w.write(UInt64(windows.count))
        // watermark tracker
        w.writeArray(watermarks.maxTs); w.writeArray(watermarks.lastActive); w.writeArray(watermarks.idle)
        w.write(watermarks.watermark); w.write(watermarks.maxEventTime); w.write(watermarks.lastEventWallTime)
        w.write(processingWatermark)
        w.write(recordsProcessed); w.write(deadLetterCount)
        w.write(UInt64(decoder.categories.count))
        for c in decoder.categories { c.serialize(into: &w) }
    }

    /// What changed since the last ``markCheckpointed()`` (tag "WGRI" v1): the small parts whole
    /// (watermarks, counters, category interners) and, per window operator, the journal of
    /// structural operations and the final records of the entries (windows, panes) changed.
    /// ``restore(_:)`` of the snapshot at the last mark then ``applyIncrement(_:)`` of this gives
    /// the ``snapshot()`` bytes of this graph exactly. Meaningless before a mark (see
    /// ``tracksChanges``).
    /// - Complexity: O(entries changed and structural operations since the mark), plus a scan of
    ///   4 bytes per entry.
    public func snapshotIncrement() -> [UInt8] {
        var w = ByteWriter(capacity: 4096)
        snapshotIncrement(into: &w)
        return w.bytes
    }

    /// Appends ``snapshotIncrement()``'s bytes to `w` (no buffer of its own).
    public func snapshotIncrement(into w: inout ByteWriter) {
        w.writeHeader(tag: "WGRI", version: 1)
        writeShared(into: &w)
        for op in windows { op.serializeIncrement(into: &w) }
    }

    /// Starts a new checkpoint epoch: changes from now on go to the next increment. Call after
    /// taking (and saving) a ``snapshot()`` or ``snapshotIncrement()``, or after restoring one.
    /// Acts through shared references, so it works on a copy of the graph (copies share change
    /// tracking: only one copy may be checkpointed incrementally). O(windows).
    public func markCheckpointed() {
        for op in windows { op.markCheckpointed() }
    }

    /// Identifies the checkpoint epoch of a graph's change tracking (its window operators' clocks
    /// and epochs): equal marks before and after mean no other mark or restore came in between.
    public struct ChangeMark: Equatable, Sendable {
        let clocks: [ObjectIdentifier]
        let epochs: [UInt32]
    }

    /// The current mark (nil while changes are not tracked: before the first ``markCheckpointed()``).
    public var changeMark: ChangeMark? {
        guard tracksChanges else { return nil }
        return ChangeMark(clocks: windows.map { ObjectIdentifier($0.changes) }, epochs: windows.map(\.changes.epoch))
    }

    /// True once ``markCheckpointed()`` was called: ``snapshotIncrement()`` has a base.
    public var tracksChanges: Bool { windows.allSatisfy(\.tracksChanges) }

    /// Applies an increment written by ``snapshotIncrement()`` onto the state it was taken
    /// after (restored with ``restore(_:)`` and the increments before it, in order). On error
    /// the graph is left partly updated: discard it.
    /// - Throws: ``SerializationError`` for truncated, foreign or inconsistent bytes.
    /// - Complexity: O(increment size + structural operations × log timers).
    public mutating func applyIncrement(_ bytes: [UInt8]) throws(SerializationError) {
        var r = ByteReader(bytes)
        try r.readHeader(tag: "WGRI", supportedVersions: 1...1)
        try readShared(from: &r)
        for i in windows.indices { try windows[i].applyIncrement(from: &r) }
        guard r.isAtEnd else { throw .invalidValue(field: "StreamGraph", detail: "\(r.remaining) trailing bytes") }
        clearOutputs()
    }

    /// Restores state written by ``snapshot()`` of a graph built from the same ``GraphSpec``.
    /// Outputs are cleared. On error the graph is unchanged.
    /// - Throws: ``SerializationError`` for truncated, foreign or inconsistent bytes.
    public mutating func restore(_ bytes: [UInt8]) throws(SerializationError) {
        var r = ByteReader(bytes)
        try r.readHeader(tag: "WGRF", supportedVersions: 1...1)
        var g = self
        try g.readShared(from: &r)
        var ops = windows
        for i in ops.indices { try ops[i].restore(from: &r) }
        guard r.isAtEnd else { throw .invalidValue(field: "StreamGraph", detail: "\(r.remaining) trailing bytes") }
        watermarks = g.watermarks
        processingWatermark = g.processingWatermark
        recordsProcessed = g.recordsProcessed; deadLetterCount = g.deadLetterCount
        decoder.categories = g.decoder.categories
        windows = ops
        clearOutputs()
    }

    private mutating func readShared(from r: inout ByteReader) throws(SerializationError) {
        guard try r.readCount(field: "windows") == windows.count else {
            throw .invalidValue(field: "StreamGraph.windows", detail: "window count differs from this graph")
        }
        let maxTs = try r.readInt64s("maxTs"), lastActive = try r.readInt64s("lastActive"), idle = try r.readBools("idle")
        guard maxTs.count == watermarks.maxTs.count, lastActive.count == maxTs.count, idle.count == maxTs.count else {
            throw .invalidValue(field: "WatermarkTracker", detail: "partition count differs")
        }
        let wm = try r.readInt64(), mx = try r.readInt64(), lw = try r.readInt64()
        let pw = try r.readInt64()
        let rp = try r.readInt(), dl = try r.readInt()
        let nc = try r.readCount(field: "categories")
        guard nc == decoder.categories.count else { throw .invalidValue(field: "categories", detail: "field count differs") }
        var cats: [ByteInterner] = []
        for _ in 0..<nc { cats.append(try ByteInterner(deserializing: &r)) }
        watermarks = WatermarkTracker(config: watermarks.config, maxTs: Array(maxTs), lastActive: Array(lastActive), idle: Array(idle),
                                      watermark: wm, maxEventTime: mx, lastEventWallTime: lw)
        processingWatermark = pw
        recordsProcessed = rp; deadLetterCount = dl
        decoder.categories = cats
    }
}
