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
extension WindowOperator {
    @inline(__always)
    mutating func touch(_ e: Int32) { ents[Int(e)].stamp = clock[0] }

    @inline(__always)
    mutating func pushTimer(_ t: Timer) {
        if clock[1] != 0 { journalOp { $0.write(UInt8(4)); $0.write(t.time); $0.write(t.entry); $0.write(t.gen); $0.write(t.kind) } }
        timers.push(t)
    }

    @inline(__always)
    mutating func journalOp(_ body: (inout ByteWriter) -> Void) {
        let ep = clock[0]
        if journalEpoch != ep { journal.bytes.removeAll(keepingCapacity: true); journalEpoch = ep }
        body(&journal)
    }

    mutating func journalNewKey(_ p: UnsafeRawPointer, _ n: Int, hash: UInt64) {
        journalOp { w in
            w.write(UInt8(1)); w.write(hash); w.write(UInt32(n))
            w.bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        }
    }
    mutating func journalAlloc(key: Int32, start: Int64, end: Int64, link: Bool, after: Int32?) {
        if let after {
            journalOp { $0.write(UInt8(7)); $0.write(key); $0.write(start); $0.write(end); $0.write(after) }
        } else {
            journalOp { $0.write(UInt8(2)); $0.write(key); $0.write(start); $0.write(end); $0.write(link) }
        }
    }
    mutating func journalSortPanes(key: Int32) { journalOp { $0.write(UInt8(8)); $0.write(key) } }
    mutating func journalFree(_ e: Int32) { journalOp { $0.write(UInt8(3)); $0.write(e) } }
    mutating func journalPop() { journalOp { $0.write(UInt8(5)) } }
    mutating func journalClearTimers() { journalOp { $0.write(UInt8(6)) } }

    /// Starts the next checkpoint epoch: changes from now on belong to the next increment.
    /// Turns tracking on. Through the shared ``ChangeClock``: works on a copy.
    func markCheckpointed() {
        changes.epoch &+= 1
        changes.tracking = true
    }

    /// Whether ``serializeIncrement(into:)`` has a base (a checkpoint was marked).
    var tracksChanges: Bool { changes.tracking }

    /// What changed since the last ``markCheckpointed()`` (tag "WWII" v2; v1 lacks operations 7 and 8).
    /// - Complexity: O(operations and entries changed) plus a scan of one stamp per entry.
    func serializeIncrement(into w: inout ByteWriter) {
        // v2: the journal may hold operations 7 (insert a pane in start order) and 8 (sort a key's panes)
        w.writeHeader(tag: "WWII", version: 2)
        w.write(spec.name)
        w.write(stats.lateEvents); w.write(stats.lateWindowSkips); w.write(stats.rejectedKeyEvents)
        w.write(stats.emitted); w.write(stats.lateUpdates)
        w.write(liveWindows)
        let ep = changes.epoch
        if journalEpoch == ep && changes.tracking { w.writeBytes(journal.bytes) } else { w.writeBytes([UInt8]()) }
        w.write(UInt64(ents.count)); w.write(UInt64(stored.count))
        w.write(UInt64(store.hlls.count)); w.write(UInt64(store.klls.count)); w.write(UInt64(store.tops.count))
        var n = 1
        ents.withUnsafeBufferPointer { s in for i in 1..<s.count where s[i].stamp == ep { n += 1 } }
        w.write(UInt64(n))
        writeEntryRecord(0, into: &w)
        for i in 1..<ents.count where ents[i].stamp == ep { writeEntryRecord(Int32(i), into: &w) }
    }

    private func writeEntryRecord(_ e: Int32, into w: inout ByteWriter) {
        let x = ents[Int(e)]
        w.write(e)
        w.write(x.start); w.write(x.end); w.write(x.key); w.write(x.next); w.write(x.prev); w.write(x.gen); w.write(x.flags)
        let base = Int(e) * store.stride
        for j in 0..<store.stride { w.write(store.slots[base + j]) }
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
        if has { for j in 0..<sw { w.write(stored[Int(e) * sw + j]) } }
    }

    /// Applies an increment written by ``serializeIncrement(into:)`` of this operator's next epoch
    /// (the state must be exactly the one it was taken after). On error the operator is left
    /// partly updated: discard it.
    /// - Throws: ``SerializationError`` for damaged or foreign bytes.
    mutating func applyIncrement(from r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WWII", supportedVersions: 1...2)
        let name = try r.readString(field: "WindowOperator.name")
        guard name == spec.name else { throw .invalidValue(field: "WindowOperator.name", detail: "increment has '\(name)', graph has '\(spec.name)'") }
        var st = Stats()
        st.lateEvents = try r.readInt(); st.lateWindowSkips = try r.readInt(); st.rejectedKeyEvents = try r.readInt()
        st.emitted = try r.readInt(); st.lateUpdates = try r.readInt()
        let live = try r.readInt()
        try replay(try r.readBytes(field: "WindowOperator.journal"))
        let ne = try r.readCount(field: "entries"), ns = try r.readCount(field: "stored")
        guard ne == ents.count else { throw .invalidValue(field: "WindowOperator.entries", detail: "\(ents.count) after the journal, \(ne) expected") }
        guard ns >= stored.count else { throw .invalidValue(field: "WindowOperator.stored", detail: "shrinks") }
        while stored.count < ns { stored.append(0) }
        let nh = try r.readCount(field: "hlls"), nk = try r.readCount(field: "klls"), nt = try r.readCount(field: "tops")
        guard nh == store.hlls.count, nk == store.klls.count, nt == store.tops.count else {
            throw .invalidValue(field: "WindowOperator.sketches", detail: "pool sizes differ after the journal")
        }
        let nd = try r.readCount(field: "changed entries", limit: ents.count)
        let sw = 2 * store.aggregateCount
        for _ in 0..<nd {
            let e = Int(try r.readInt32())
            guard e >= 0, e < ents.count else { throw .invalidValue(field: "WindowOperator.entry", detail: "\(e) out of range") }
            let x = Entry(start: try r.readInt64(), end: try r.readInt64(), key: try r.readInt32(), next: try r.readInt32(),
                          prev: try r.readInt32(), gen: try r.readUInt32(), flags: try r.readUInt8())
            for link in [x.next, x.prev] where link < -1 || Int(link) >= ents.count {
                throw .invalidValue(field: "WindowOperator.entry", detail: "link out of range")
            }
            ents[e] = x
            let base = e * store.stride
            for j in 0..<store.stride { store.slots[base + j] = try r.readDouble() }
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
                for j in 0..<sw { stored[e * sw + j] = try r.readDouble() }
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

    /// Replays a journal through the operations that wrote it.
    private mutating func replay(_ ops: [UInt8]) throws(SerializationError) {
        var r = ByteReader(ops)
        while !r.isAtEnd {
            switch try r.readUInt8() {
            case 1:
                let h = try r.readUInt64()
                let n = Int(try r.readUInt32())
                guard n <= r.remaining else { throw .invalidValue(field: "journal.key", detail: "length \(n)") }
                var bytes: [UInt8] = []
                for _ in 0..<n { bytes.append(try r.readUInt8()) }
                _ = bytes.withUnsafeBytes { b in addKey(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, n, hash: h) }
            case 2:
                let key = try r.readInt32(), start = try r.readInt64(), end = try r.readInt64(), link = try r.readBool()
                if link {
                    guard key >= 0, Int(key) < keyHead.count, keys.isLive(key) || keyField < 0 else {
                        throw .invalidValue(field: "journal.alloc", detail: "key \(key) not live")
                    }
                }
                _ = allocEntry(key: key, start: start, end: end, link: link)
            case 7:
                let key = try r.readInt32(), start = try r.readInt64(), end = try r.readInt64(), after = try r.readInt32()
                guard key >= 0, Int(key) < keyHead.count, keys.isLive(key) || keyField < 0 else {
                    throw .invalidValue(field: "journal.insert", detail: "key \(key) not live")
                }
                guard after == -1 || (after >= 1 && Int(after) < ents.count && ents[Int(after)].flags & 4 != 0 && ents[Int(after)].key == key) else {
                    throw .invalidValue(field: "journal.insert", detail: "entry \(after) is not a live window of key \(key)")
                }
                _ = allocEntry(key: key, start: start, end: end, after: after)
            case 8:
                let key = try r.readInt32()
                guard key >= 0, Int(key) < keyHead.count, usePanes else { throw .invalidValue(field: "journal.sort", detail: "key \(key)") }
                sortPanes(key: key)
            case 3:
                let e = try r.readInt32()
                guard e >= 1, Int(e) < ents.count, ents[Int(e)].flags & 4 != 0 else { throw .invalidValue(field: "journal.free", detail: "entry \(e) not live") }
                freeEntry(e)
            case 4:
                let t = Timer(time: try r.readInt64(), entry: try r.readInt32(), gen: try r.readUInt32(), kind: try r.readUInt8())
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
