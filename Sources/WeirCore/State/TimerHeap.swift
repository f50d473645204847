/// An event-time timer: fire or purge entry `entry` once the watermark reaches `time`.
/// `gen` must match the entry's generation, otherwise the timer is stale and ignored.
@usableFromInline
struct Timer: Sendable, Equatable {
    @usableFromInline var time: Int64
    @usableFromInline var entry: Int32
    @usableFromInline var gen: UInt32
    /// 0 = fire the entry, 1 = fire the pane window ending at `time + 1`, 2 = purge the entry
    /// (fires sort before purges at equal times).
    @usableFromInline var kind: UInt8

    @inline(__always) static func < (a: Timer, b: Timer) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.kind != b.kind { return a.kind < b.kind }
        return a.entry < b.entry
    }
}

/// A binary min-heap of timers in a reused `ContiguousArray` (no allocation once grown).
/// - Complexity: push/pop O(log n), top O(1).
@usableFromInline
struct TimerHeap: Sendable {
    @usableFromInline var items = ContiguousArray<Timer>()

    var count: Int { items.count }
    var top: Timer? { items.first }

    mutating func push(_ t: Timer) {
        items.append(t)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[i] < items[p] { items.swapAt(i, p); i = p } else { break }
        }
    }

    mutating func pop() -> Timer? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
