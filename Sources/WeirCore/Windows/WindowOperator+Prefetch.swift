internal import CWeirPrefetch

/// Batch look-ahead (``StreamGraph/process(messages:starts:partition:firstOffset:now:)``): the
/// state a future record will touch is prefetched in three stages, each a few records before the
/// next, so that the dependent misses of one record (interner slot → key list tail → window entry
/// and accumulator row) overlap with the work on the records before it. Hints only: stale or
/// wrong hints cost time, never correctness (a prefetch of any address is harmless).
extension WindowOperator {
    /// Sizes the per-row hint arrays for `rows` rows (grows rarely; amortised).
    mutating func prepareLookahead(rows: Int) {
        if hintHash.count < rows {
            let n = Swift.max(rows, 2 * hintHash.count)
            hintHash = ContiguousArray(repeating: 0, count: n)
            hintKey = ContiguousArray(repeating: -1, count: n)
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

    /// Stage 1: hashes the key of `row` and prefetches its interner slot.
    @inline(__always)
    mutating func lookaheadKey(_ batch: RecordBatch, row: Int) {
        let h = keyHash(batch, row)
        hintHash[row] = h
        keys.prefetchSlot(hash: h)
    }

    /// Stage 2: finds the key's id by its hash only (the slot is cached now; a tag collision
    /// gives a wrong hint, which is harmless) and prefetches its list tail.
    @inline(__always)
    mutating func lookaheadState(row: Int) {
        let id = keys.hintID(hash: hintHash[row])
        hintKey[row] = id
        if id >= 0 && Int(id) < keyTail.count {
            keyTail.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + Int(id)) }
        }
    }

    /// Stage 3: prefetches the key's newest window entry (where tumbling windows and panes
    /// search first) and its accumulator row.
    @inline(__always)
    mutating func lookaheadEntry(row: Int) {  // mutating: no copy of the operator out of the array
        let id = Int(hintKey[row])
        guard id >= 0 && id < keyTail.count else { return }
        let e = Int(keyTail[id])
        guard e >= 0 && e < ents.count else { return }
        ents.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + e) }
        store.prefetchRow(Int32(e))
    }
}
