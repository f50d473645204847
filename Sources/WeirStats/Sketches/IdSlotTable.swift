/// A fixed-size open-addressing map from `Int32` ids to small non-negative slots (linear probing,
/// Fibonacci hashing, backward-shift deletion; load factor ≤ 1/2). Used by ``SpaceSaving`` instead of
/// `Dictionary`, whose per-process-seeded SipHash dominates the update cost.
/// - Complexity: O(1) expected per operation; never allocates after `init`.
@usableFromInline
struct IdSlotTable: Sendable {
    @usableFromInline var keys: [Int32]
    @usableFromInline var values: [Int32]  // -1 marks an empty cell
    @usableFromInline let bits: UInt64
    @usableFromInline let mask: Int

    /// A table for at most `maxEntries` entries.
    init(maxEntries: Int) {
        var size = 8
        var b: UInt64 = 3
        while size < 2 * maxEntries { size <<= 1; b += 1 }
        keys = [Int32](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        bits = b
        mask = size - 1
    }

    @inlinable @inline(__always)
    func home(_ id: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: id)) &* 0x9E37_79B9_7F4A_7C15) >> (64 &- bits))
    }

    /// The slot stored for `id`, or nil.
    @inlinable
    func get(_ id: Int32) -> Int? {
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
        var i = home(id)
        while values[i] >= 0 && keys[i] != id { i = (i &+ 1) & mask }
        keys[i] = id
        values[i] = Int32(truncatingIfNeeded: slot)
    }

    /// Removes `id` if present.
    @inlinable
    mutating func remove(_ id: Int32) {
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
    }

    mutating func removeAll() {
        for i in values.indices { values[i] = -1 }
    }
}
