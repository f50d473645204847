import WeirStats

/// The checkpoint epoch of one window operator's state, shared by the copies of the operator (a
/// reference, so a checkpoint taken from a copy of the pipeline can start the next epoch).
///
/// `epoch` stamps the entries changed in it; `tracking` turns on the journal of structural
/// operations (off until the first checkpoint: without checkpoints the journal would grow
/// forever). Single-threaded, like the operator that owns it.
public final class ChangeClock: @unchecked Sendable {
    /// [epoch, tracking (0/1)]: raw cells, so the hot path reads them without reference counting
    /// (valid while the clock lives: the operator holding them holds the clock).
    struct Cells: @unchecked Sendable {
        let p: UnsafeMutablePointer<UInt32>
        @inline(__always) subscript(i: Int) -> UInt32 { p[i] }
    }
    let cells: Cells
    var epoch: UInt32 {
        get { cells.p[0] }
        set { cells.p[0] = newValue }
    }
    var tracking: Bool {
        get { cells.p[1] != 0 }
        set { cells.p[1] = newValue ? 1 : 0 }
    }
    init() {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
        p[0] = 1
        p[1] = 0
        cells = Cells(p: p)
    }
    deinit { cells.p.deallocate() }
}

// Incremental checkpoints of a window operator.
//
// An increment holds what changed since the last checkpoint (full or increment):
// - the journal of structural operations, in order: key inserts, entry allocations and frees
//   (which also move the free lists, key lists, sketch pools and remove keys), timer pushes and
//   pops. Replayed through the same functions on the restoring side, they rebuild the interner,
//   free lists, links and timer heap exactly (each is a deterministic function of its operations);
// - the final record of every entry changed in the epoch (the entry, its accumulator slots, its
//   sketches, its stored sliding inputs) and of the scratch entry 0;
// - the counters (stats, live windows).
// Cost: O(operations + changed entries), not O(state). Restoring a full snapshot then every
// increment after it gives the bytes of ``serialize(into:)`` of the uninterrupted operator.
//
// Encoding (version 3): ids and counts are varints, signed values and links zigzag varints,
// window starts and timer times deltas from the previous one (most are equal or close), window
// lengths deltas from the previous record's, accumulator slots compact doubles (a count is one
// byte); a key is its bytes (the restoring side hashes them again). At 1M keys this is about
// half of version 2's fixed-width fields (RESULTS.md, 2026-12-06).
extension WindowOperator {
    @inline(__always)
    mutating func touch(_ e: Int32) { ents[Int(e)].stamp = clock[0] }

    @inline(__always)
    mutating func pushTimer(_ t: Timer) {
        if clock[1] != 0 { journalTimer(t) }
        timers.push(t)
    }

    /// Empties the journal when a new epoch began (its operations went into the last checkpoint).
    @inline(__always)
    mutating func journalReady() {
        let ep = clock[0]
        if journalEpoch != ep {
            journal.bytes.removeAll(keepingCapacity: true)
            journalEpoch = ep
            journalBase = CompactDeltas()
        }
    }

    mutating func journalTimer(_ t: Timer) {
        journalReady()
        journal.write(UInt8(4)); journal.writeCompact(t, &journalBase)
    }

    mutating func journalNewKey(_ p: UnsafeRawPointer, _ n: Int) {
        journalReady()
        journal.write(UInt8(1)); journal.writeVarint(UInt64(n))
        journal.bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
    }
    mutating func journalAlloc(key: Int32, start: Int64, end: Int64, link: Bool, after: Int32?) {
        journalReady()
        journal.write(UInt8(after == nil ? 2 : 7)); journal.writeZigzag(Int64(key))
        journal.writeZigzag(start &- journalBase.start); journalBase.start = start
        journal.writeZigzag(end &- start)
        if let after { journal.writeZigzag(Int64(after)) } else { journal.write(link) }
    }
    mutating func journalSortPanes(key: Int32) { journalReady(); journal.write(UInt8(8)); journal.writeZigzag(Int64(key)) }
    mutating func journalFree(_ e: Int32) { journalReady(); journal.write(UInt8(3)); journal.writeZigzag(Int64(e)) }
    mutating func journalPop() { journalReady(); journal.write(UInt8(5)) }
    mutating func journalClearTimers() { journalReady(); journal.write(UInt8(6)) }

    /// Starts the next checkpoint epoch: changes from now on belong to the next increment.
    /// Turns tracking on. Through the shared ``ChangeClock``: works on a copy.
    func markCheckpointed() {
        changes.epoch &+= 1
        changes.tracking = true
    }

    /// Whether ``serializeIncrement(into:)`` has a base (a checkpoint was marked).
    var tracksChanges: Bool { changes.tracking }

    /// What changed since the last ``markCheckpointed()`` (tag "WWII" v3; v2 has fixed-width
    /// fields, v1 also lacks journal operations 7 and 8).
    /// - Complexity: O(operations and entries changed) plus a scan of one stamp per entry.
    func serializeIncrement(into w: inout ByteWriter) {
        w.writeHeader(tag: "WWII", version: 3)
        w.write(spec.name)
        w.writeVarint(UInt64(stats.lateEvents)); w.writeVarint(UInt64(stats.lateWindowSkips)); w.writeVarint(UInt64(stats.rejectedKeyEvents))
        w.writeVarint(UInt64(stats.emitted)); w.writeVarint(UInt64(stats.lateUpdates))
        w.writeVarint(UInt64(liveWindows))
        let ep = changes.epoch
        if journalEpoch == ep && changes.tracking { w.writeBytes(journal.bytes) } else { w.writeBytes([UInt8]()) }
        w.writeVarint(UInt64(ents.count)); w.writeVarint(UInt64(stored.count))
        w.writeVarint(UInt64(store.hlls.count)); w.writeVarint(UInt64(store.klls.count)); w.writeVarint(UInt64(store.tops.count))
        var n = 1
        ents.withUnsafeBufferPointer { s in for i in 1..<s.count where s[i].stamp == ep { n += 1 } }
        w.writeVarint(UInt64(n))
        var previous: Int32 = -1
        var deltas = CompactDeltas()
        writeEntryRecord(0, after: &previous, &deltas, into: &w)
        for i in 1..<ents.count where ents[i].stamp == ep { writeEntryRecord(Int32(i), after: &previous, &deltas, into: &w) }
    }

    /// Entry `e`'s record: its distance from the previous record's entry (`previous`, ascending),
    /// the entry (the entry form of `ByteWriter.writeCompact(_:_:)`), its slots,
    /// sketches and stored inputs.
    private func writeEntryRecord(_ e: Int32, after previous: inout Int32, _ deltas: inout CompactDeltas, into w: inout ByteWriter) {
        w.writeVarint(UInt64(Int64(e) - Int64(previous) - 1)); previous = e
        w.writeCompact(ents[Int(e)], &deltas)
        let base = Int(e) * store.stride
        for j in 0..<store.stride { w.writeCompact(store.slots[base + j]) }
        for a in store.aggs {
            let h = Int(store.slots[base + a.slot])
            switch a.op {
            case .distinct: store.hlls[h].serialize(into: &w)
            case .quantile: store.klls[h].serialize(into: &w)
            case .topK: store.tops[h].serialize(into: &w)
            default: break
            }
        }
        let sw = 2 * store.aggregateCount
        let has = stored.count >= (Int(e) + 1) * sw
        w.write(has)
        if has { for j in 0..<sw { w.writeCompact(stored[Int(e) * sw + j]) } }
    }

    /// Applies an increment written by ``serializeIncrement(into:)`` of this operator's next epoch
    /// (the state must be exactly the one it was taken after). On error the operator is left
    /// partly updated: discard it.
    /// - Throws: ``SerializationError`` for damaged or foreign bytes.
    mutating func applyIncrement(from r: inout ByteReader) throws(SerializationError) {
        let version = try r.readHeader(tag: "WWII", supportedVersions: 1...3)
        let compact = version >= 3
        let name = try r.readString(field: "WindowOperator.name")
        guard name == spec.name else { throw .invalidValue(field: "WindowOperator.name", detail: "increment has '\(name)', graph has '\(spec.name)'") }
        func int(_ r: inout ByteReader) throws(SerializationError) -> Int {
            guard compact else { return try r.readInt() }
            let v = try r.readVarint()
            guard v <= UInt64(Int.max) else { throw .invalidValue(field: "WindowOperator.counter", detail: "\(v)") }
            return Int(v)
        }
        func count(_ r: inout ByteReader, _ field: String, limit: Int = Int(Int32.max)) throws(SerializationError) -> Int {
            compact ? try r.readVarintCount(field: field, limit: limit) : try r.readCount(field: field, limit: limit)
        }
        var st = Stats()
        st.lateEvents = try int(&r); st.lateWindowSkips = try int(&r); st.rejectedKeyEvents = try int(&r)
        st.emitted = try int(&r); st.lateUpdates = try int(&r)
        let live = try int(&r)
        try replay(try r.readBytes(field: "WindowOperator.journal"), compact: compact)
        let ne = try count(&r, "entries"), ns = try count(&r, "stored")
        guard ne == ents.count else { throw .invalidValue(field: "WindowOperator.entries", detail: "\(ents.count) after the journal, \(ne) expected") }
        guard ns >= stored.count else { throw .invalidValue(field: "WindowOperator.stored", detail: "shrinks") }
        while stored.count < ns { stored.append(0) }
        let nh = try count(&r, "hlls"), nk = try count(&r, "klls"), nt = try count(&r, "tops")
        guard nh == store.hlls.count, nk == store.klls.count, nt == store.tops.count else {
            throw .invalidValue(field: "WindowOperator.sketches", detail: "pool sizes differ after the journal")
        }
        let nd = try count(&r, "changed entries", limit: ents.count)
        let sw = 2 * store.aggregateCount
        var previous = -1
        var deltas = CompactDeltas()
        for _ in 0..<nd {
            let e: Int
            let x: Entry
            if compact {
                let step = try r.readVarint()
                guard step < UInt64(ents.count) else { throw .invalidValue(field: "WindowOperator.entry", detail: "step \(step) out of range") }
                e = previous + 1 + Int(step)
                guard e < ents.count else { throw .invalidValue(field: "WindowOperator.entry", detail: "\(e) out of range") }
                previous = e
                x = try r.readCompactEntry(&deltas, field: "WindowOperator.entry")
            } else {
                e = Int(try r.readInt32())
                guard e >= 0, e < ents.count else { throw .invalidValue(field: "WindowOperator.entry", detail: "\(e) out of range") }
                x = Entry(start: try r.readInt64(), end: try r.readInt64(), key: try r.readInt32(), next: try r.readInt32(),
                          prev: try r.readInt32(), gen: try r.readUInt32(), flags: try r.readUInt8())
            }
            for link in [x.next, x.prev] where link < -1 || Int(link) >= ents.count {
                throw .invalidValue(field: "WindowOperator.entry", detail: "link out of range")
            }
            ents[e] = x
            let base = e * store.stride
            for j in 0..<store.stride { store.slots[base + j] = compact ? try r.readCompactDouble() : try r.readDouble() }
            for a in store.aggs {
                let hd = store.slots[base + a.slot]
                let limit: Int
                switch a.op {
                case .distinct: limit = nh
                case .quantile: limit = nk
                case .topK: limit = nt
                default: continue
                }
                guard hd >= 0, Int(hd) < limit else { throw .invalidValue(field: "WindowOperator.sketch", detail: "handle \(hd) out of range") }
                let h = Int(hd)
                switch a.op {
                case .distinct: store.hlls[h] = try HyperLogLog(deserializing: &r)
                case .quantile: store.klls[h] = try KLLSketch(deserializing: &r)
                default: store.tops[h] = try SpaceSaving(deserializing: &r)
                }
            }
            if try r.readBool() {
                guard stored.count >= (e + 1) * sw else { throw .invalidValue(field: "WindowOperator.stored", detail: "entry \(e) outside") }
                for j in 0..<sw { stored[e * sw + j] = compact ? try r.readCompactDouble() : try r.readDouble() }
            }
        }
        stats = st
        liveWindows = live
        store.recountSketchBytes()
        journal.bytes.removeAll(keepingCapacity: true)
        journalEpoch = 0
        changes.epoch &+= 1  // a new base
        panesNeedSorting = anyPaneListUnsorted()
    }

    /// Replays a journal through the operations that wrote it; `compact`: increment version 3's
    /// encoding (varints and deltas, keys without their hash).
    private mutating func replay(_ ops: [UInt8], compact: Bool) throws(SerializationError) {
        var r = ByteReader(ops)
        var base = CompactDeltas()
        func int32(_ r: inout ByteReader, _ field: String) throws(SerializationError) -> Int32 {
            compact ? try r.readZigzagInt32(field: field) : try r.readInt32()
        }
        func window(_ r: inout ByteReader) throws(SerializationError) -> (start: Int64, end: Int64) {
            guard compact else { return (try r.readInt64(), try r.readInt64()) }
            let start = base.start &+ (try r.readZigzag())
            base.start = start
            return (start, start &+ (try r.readZigzag()))
        }
        while !r.isAtEnd {
            switch try r.readUInt8() {
            case 1:
                let h: UInt64? = compact ? nil : try r.readUInt64()
                let length = compact ? try r.readVarint() : UInt64(try r.readUInt32())
                guard length <= UInt64(r.remaining) else { throw .invalidValue(field: "journal.key", detail: "length \(length)") }
                let n = Int(length)
                var bytes: [UInt8] = []
                for _ in 0..<n { bytes.append(try r.readUInt8()) }
                _ = bytes.withUnsafeBytes { b in
                    let p = b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                    return addKey(p, n, hash: h ?? weirHashBytes(p, n))
                }
            case 2:
                let key = try int32(&r, "journal.alloc.key")
                let (start, end) = try window(&r)
                let link = try r.readBool()
                if link {
                    guard key >= 0, Int(key) < keyHead.count, keys.isLive(key) || keyField < 0 else {
                        throw .invalidValue(field: "journal.alloc", detail: "key \(key) not live")
                    }
                }
                _ = allocEntry(key: key, start: start, end: end, link: link)
            case 7:
                let key = try int32(&r, "journal.insert.key")
                let (start, end) = try window(&r)
                let after = try int32(&r, "journal.insert.after")
                guard key >= 0, Int(key) < keyHead.count, keys.isLive(key) || keyField < 0 else {
                    throw .invalidValue(field: "journal.insert", detail: "key \(key) not live")
                }
                guard after == -1 || (after >= 1 && Int(after) < ents.count && ents[Int(after)].flags & 4 != 0 && ents[Int(after)].key == key) else {
                    throw .invalidValue(field: "journal.insert", detail: "entry \(after) is not a live window of key \(key)")
                }
                _ = allocEntry(key: key, start: start, end: end, after: after)
            case 8:
                let key = try int32(&r, "journal.sort.key")
                guard key >= 0, Int(key) < keyHead.count, usePanes else { throw .invalidValue(field: "journal.sort", detail: "key \(key)") }
                sortPanes(key: key)
            case 3:
                let e = try int32(&r, "journal.free")
                guard e >= 1, Int(e) < ents.count, ents[Int(e)].flags & 4 != 0 else { throw .invalidValue(field: "journal.free", detail: "entry \(e) not live") }
                freeEntry(e)
            case 4:
                let t = compact ? try r.readCompactTimer(&base, field: "journal.timer")
                                : Timer(time: try r.readInt64(), entry: try r.readInt32(), gen: try r.readUInt32(), kind: try r.readUInt8())
                guard t.entry >= 0, Int(t.entry) < ents.count else { throw .invalidValue(field: "journal.timer", detail: "entry \(t.entry) out of range") }
                timers.push(t)
            case 5:
                guard timers.pop() != nil else { throw .invalidValue(field: "journal.pop", detail: "no timer") }
            case 6:
                timers.items.removeAll(keepingCapacity: true)
            case let op:
                throw .invalidValue(field: "journal", detail: "operation \(op)")
            }
        }
    }
}
