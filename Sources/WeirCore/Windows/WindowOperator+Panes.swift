extension WindowOperator {
    /// Hopping windows by panes: the event updates its `hop`-wide pane only; a window
    /// `[E − size, E)` is the merge of its `size / hop` panes, computed when it fires, when a
    /// late event re-emits it, or when a feature reads it. Same results as updating every
    /// window (checked against the brute-force oracle), at one accumulator update per event.
    mutating func processPane(_ batch: RecordBatch, _ row: Int, _ ts: Int64, _ wm: Int64,
                              _ results: inout WindowResults) -> EventOutcome {
        let p = alignedStart(ts)
        if isLate(end: p &+ size, watermark: wm) { return .late }
        guard let key = resolveKey(batch, row) else { return .rejectedKey }
        if panesNeedSorting { sortPaneLists() }
        // Newest first: an event almost always falls in the key's latest pane. The list is in
        // ascending start order, so the search ends at the first older pane (walking every live
        // pane of a key, a chain of dependent cache misses, cost a third of card-fraud's replay).
        var before = keyTail[Int(key)]
        while before >= 0 && ents[Int(before)].start > p { before = ents[Int(before)].prev }
        let isNew = before < 0 || ents[Int(before)].start != p
        var pane = before
        if isNew {
            pane = allocEntry(key: key, start: p, end: p &+ slide, after: before)
            pushPurgeTimer(pane, lastWindowEnd: p &+ size, spread: true)
            if spec.emitResults {
                // a fire timer for each window of this pane that no other live pane scheduled
                var end = p &+ slide
                while end <= p &+ size {
                    if end &- 1 > wm && !hasOtherPane(key: key, end: end, except: pane) {
                        pushTimer(Timer(time: end &- 1, entry: pane, gen: ents[Int(pane)].gen, kind: 1))
                    }
                    end &+= slide
                }
            }
        }
        touch(pane)
        if store.hasSketches {
            store.extract(batch, row: row, into: &inputs)
            store.apply(pane, inputs, ts: ts)
        } else {
            store.applyRow(pane, batch, row: row, ts: ts)
        }
        // windows already past the watermark (within lateness): emit now
        if wm >= p &+ slide &- 1 {
            var end = p &+ slide
            while end <= p &+ size {
                if isLate(end: end, watermark: wm) { stats.lateWindowSkips += 1 } else if wm >= end &- 1 {
                    let hadData = !isNew || hasOtherPane(key: key, end: end, except: pane)
                    if hadData { stats.lateUpdates += 1 }
                    emitPaneWindow(key: key, end: end, kind: hadData ? .lateUpdate : .onTime, into: &results)
                }
                end &+= slide
            }
        }
        if needsCurrent {
            // the earliest-starting window containing ts that is not late
            var start = p &- size &+ slide
            while isLate(end: start &+ size, watermark: wm) { start &+= slide }
            mergeWindow(key: key, end: start &+ size)
            captureCurrent(0)
        }
        return .accepted
    }

    /// True when a live pane of `key` other than `except` lies in window `[end − size, end)`.
    func hasOtherPane(key: Int32, end: Int64, except: Int32) -> Bool {
        var e = keyHead[Int(key)]
        while e >= 0 {
            let s = ents[Int(e)].start
            if e != except && s >= end &- size && s < end { return true }
            e = ents[Int(e)].next
        }
        return false
    }

    /// Merges the key's panes of window `[end − size, end)` into the scratch entry 0.
    mutating func mergeWindow(key: Int32, end: Int64) {
        store.reset(0)
        var e = keyHead[Int(key)]
        while e >= 0 {
            let s = ents[Int(e)].start
            if s >= end &- size && s < end { store.merge(into: 0, from: e) }
            e = ents[Int(e)].next
        }
        ents[0].start = end &- size
        ents[0].end = end
        ents[0].key = key
    }

    mutating func emitPaneWindow(key: Int32, end: Int64, kind: ResultKind, into results: inout WindowResults) {
        guard spec.emitResults else { return }
        mergeWindow(key: key, end: end)
        emit(0, kind, into: &results)
    }

    /// Relinks every key's panes in ascending start order (state restored from a Weir that
    /// linked them in arrival order); each reordered key is journaled, so an increment replays
    /// the same sort. O(entries); runs once, before the first event after such a restore.
    mutating func sortPaneLists() {
        panesNeedSorting = false
        for k in 0..<keyHead.count where !paneListIsSorted(key: Int32(k)) { sortPanes(key: Int32(k)) }
    }

    /// Whether `key`'s list is in strictly ascending start order.
    func paneListIsSorted(key: Int32) -> Bool {
        var e = keyHead[Int(key)]
        while e >= 0 {
            let n = ents[Int(e)].next
            if n >= 0 && ents[Int(n)].start <= ents[Int(e)].start { return false }
            e = n
        }
        return true
    }

    /// Whether some key's panes are out of start order (after a restore: see ``panesNeedSorting``).
    func anyPaneListUnsorted() -> Bool {
        guard usePanes else { return false }
        for k in 0..<keyHead.count where !paneListIsSorted(key: Int32(k)) { return true }
        return false
    }

    /// Relinks `key`'s entries by start (ties keep their order; journaled). Entry indices,
    /// accumulators and timers are unchanged.
    mutating func sortPanes(key: Int32) {
        if clock[1] != 0 { journalSortPanes(key: key) }
        var list: [Int32] = []
        var e = keyHead[Int(key)]
        while e >= 0 && list.count < ents.count { list.append(e); e = ents[Int(e)].next }  // bounded: damaged links may cycle
        let sorted = list.enumerated().sorted { a, b in
            let (sa, sb) = (ents[Int(a.element)].start, ents[Int(b.element)].start)
            return sa != sb ? sa < sb : a.offset < b.offset
        }.map(\.element)
        for (i, x) in sorted.enumerated() {
            ents[Int(x)].prev = i > 0 ? sorted[i - 1] : -1
            ents[Int(x)].next = i + 1 < sorted.count ? sorted[i + 1] : -1
            touch(x)
        }
        keyHead[Int(key)] = sorted.first ?? -1
        keyTail[Int(key)] = sorted.last ?? -1
    }
}
