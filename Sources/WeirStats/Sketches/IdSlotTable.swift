/// A growable open-addressing map from `Int32` ids to small non-negative slots (linear probing,
/// Fibonacci hashing, backward-shift deletion; load factor ≤ 1/2). Used by ``SpaceSaving`` instead of
/// `Dictionary`, whose per-process-seeded SipHash dominates the update cost.
///
/// It holds no cells until the first insert, then 8, and doubles when an insert would pass half
/// full, so a summary of a few ids costs a few dozen bytes; `removeAll` keeps the size reached.
/// - Complexity: O(1) expected per operation; allocates only when it grows (at most
///   log2(entries / 4) times over its life).
@usableFromInline
struct IdSlotTable: Sendable {
    @usableFromInline var keys: [Int32]
    @usableFromInline var values: [Int32]  // -1 marks an empty cell
    @usableFromInline var bits: UInt64
    @usableFromInline var mask: Int
    /// Ids stored.
    @usableFromInline var count = 0

    /// An empty table; its first 8 cells are allocated by the first ``set(_:_:)``.
    init() {
        keys = []
        values = []
        bits = 3
        mask = 7
    }

    /// Bytes of storage held.
    var storageBytes: Int { 8 * keys.count }

    /// Doubles the table (or allocates its first 8 cells) and re-inserts every id.
    @usableFromInline
    mutating func grow() {
        let oldKeys = keys, oldValues = values
        let size = keys.isEmpty ? 8 : 2 * keys.count
        keys = [Int32](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        bits = UInt64(size.trailingZeroBitCount)
        mask = size - 1
        count = 0
        for i in oldValues.indices where oldValues[i] >= 0 { set(oldKeys[i], Int(oldValues[i])) }
    }

    @inlinable @inline(__always)
    func home(_ id: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: id)) &* 0x9E37_79B9_7F4A_7C15) >> (64 &- bits))
    }

    /// The slot stored for `id`, or nil.
    @inlinable
    func get(_ id: Int32) -> Int? {
        if count == 0 { return nil }
        var i = home(id)
        while true {
            let v = values[i]
            if v < 0 { return nil }
            if keys[i] == id { return Int(v) }
            i = (i &+ 1) & mask
        }
    }

    /// Inserts or updates `id → slot`.
    @inlinable
    mutating func set(_ id: Int32, _ slot: Int) {
        if keys.isEmpty { grow() }
        var i = home(id)
        while values[i] >= 0 && keys[i] != id { i = (i &+ 1) & mask }
        if values[i] < 0 {
            if 2 * (count + 1) > keys.count {
                grow()
                set(id, slot)
                return
            }
            count += 1
        }
        keys[i] = id
        values[i] = Int32(truncatingIfNeeded: slot)
    }

    /// Removes `id` if present.
    @inlinable
    mutating func remove(_ id: Int32) {
        if count == 0 { return }
        var i = home(id)
        while true {
            if values[i] < 0 { return }
            if keys[i] == id { break }
            i = (i &+ 1) & mask
        }
        // backward-shift deletion keeps every probe chain unbroken
        var j = i
        while true {
            j = (j &+ 1) & mask
            if values[j] < 0 { break }
            let k = home(keys[j])
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if stays { continue }
            keys[i] = keys[j]
            values[i] = values[j]
            i = j
        }
        values[i] = -1
        count -= 1
    }

    mutating func removeAll() {
        for i in values.indices { values[i] = -1 }
        count = 0
    }
}
