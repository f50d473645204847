internal import CWeirPrefetch

/// Batch look-ahead (``StreamGraph/process(messages:starts:partition:firstOffset:now:)``): the
/// state a future record will touch is prefetched in three stages, each a few records before the
/// next, so that the dependent misses of one record (interner slot → key list tail → window entry
/// and accumulator row) overlap with the work on the records before it. Hints only: stale or
/// wrong hints cost time, never correctness (a prefetch of any address is harmless).
extension WindowOperator {
    /// Sizes the per-row hints for `rows` rows (grows rarely; amortised).
    mutating func prepareLookahead(rows: Int) {
        if hints.count < rows {
            hints = ContiguousArray(repeating: LookaheadHint(hash: 0, id: -1), count: Swift.max(rows, 2 * hints.count))
        }
    }

    /// The hash ``resolveKey(_:_:)`` computes for the key of `row`.
    @inline(__always)
    func keyHash(_ batch: RecordBatch, _ row: Int) -> UInt64 {
        let present = batch.isPresent(row, keyField)
        if keyType == .string && present {
            return batch.withStringBytes(row, keyField) { b in
                weirHashBytes(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count)
            }
        }
        var raw = present ? batch.raw(row, keyField).littleEndian : 0
        let n = present ? 8 : 0
        return withUnsafeBytes(of: &raw) { b in weirHashBytes(b.baseAddress!, n) }
    }

    /// One step of the look-ahead (rows at or past `end` are skipped):
    /// - stage 1, row `r3`: hashes the key and prefetches its interner slot;
    /// - stage 2, row `r2`: finds the key's id by its hash only (the slot is cached now; a tag
    ///   collision gives a wrong hint, which is harmless) and prefetches its list tail;
    /// - stage 3, row `r1`: prefetches the key's newest window entry (where tumbling windows and
    ///   panes search first) and its accumulator row, and what a new window or key would take
    ///   next (the free lists are LIFO).
    @inline(__always)
    mutating func lookahead(_ batch: RecordBatch, r3: Int, r2: Int, r1: Int, end: Int) {
        let h3 = r3 < end ? keyHash(batch, r3) : 0
        if r3 < end { keys.prefetchSlot(hash: h3) }
        let id2 = r2 < end ? keys.hintID(hash: hints[r2].hash) : -1
        if id2 >= 0 && Int(id2) < keyTail.count {
            keyTail.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + Int(id2)) }
        }
        let id1 = r1 < end ? hints[r1].id : -1
        hints.withUnsafeMutableBufferPointer { hb in  // one uniqueness check for both writes
            if r3 < end { hb[r3].hash = h3 }
            if r2 < end { hb[r2].id = id2 }
        }
        guard r1 < end else { return }
        if let f = freeEntries.last, Int(f) < ents.count {
            ents.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + Int(f)) }
            store.prefetchRow(f)
        }
        guard id1 >= 0 && Int(id1) < keyTail.count else {
            keys.prefetchNextFree()
            return
        }
        let e = Int(keyTail[Int(id1)])
        guard e >= 0 && e < ents.count else { return }
        ents.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + e) }
        store.prefetchRow(Int32(e))
    }

    /// Processes ``dueTimers`` in order, prefetching the entry of the timer 8 ahead and the key
    /// state (list ends, interner record) of the timer 4 ahead and, for a purge 2 ahead, the key's
    /// interner table slot (the purge may free the key).
    mutating func processDue(_ results: inout WindowResults) {
        let n = dueTimers.count
        ents.withUnsafeBufferPointer { eb in
            dueTimers.withUnsafeBufferPointer { tb in
                for j in 0..<Swift.min(n, 8) where Int(tb[j].entry) < eb.count { weir_prefetch(eb.baseAddress! + Int(tb[j].entry)) }
            }
        }
        for j in 0..<n {
            if j + 8 < n {
                let e = Int(dueTimers[j + 8].entry)
                if e < ents.count { ents.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + e) } }
            }
            if j + 4 < n {
                let e = Int(dueTimers[j + 4].entry)
                if e < ents.count {
                    let k = Int(ents[e].key)
                    if k >= 0 && k < keyTail.count {
                        keyHead.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + k) }
                        keyTail.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + k) }
                        keys.prefetchRecord(Int32(k))
                    }
                }
            }
            if j + 2 < n && dueTimers[j + 2].kind == 2 {
                // a purge may free the key: its table slot (the record was prefetched 2 timers ago)
                let e = Int(dueTimers[j + 2].entry)
                if e < ents.count && keyField >= 0 { keys.prefetchSlot(of: ents[e].key) }
            }
            processTimer(dueTimers[j], &results)
        }
    }
}
