/// Feature hashing for categorical values: slot = MurmurHash3 x86_32 (seed 0, like Vowpal Wabbit)
/// of the UTF-8 bytes of `"name=value"`, masked to `bits` bits.
///
/// Hash strings once, not per event: ``CategorySlots`` precomputes the slot of every interned
/// category id so the per-event path is an array lookup.
/// - Complexity: ``slot(name:value:)`` O(length of name + value); allocates the joined string.
public struct FeatureHasher: Sendable, Equatable {
    /// Number of hash bits; the sparse dimension is `1 << bits`.
    public let bits: Int
    /// Seed passed to MurmurHash3.
    public let seed: UInt32

    /// `bits` is clamped to 1...30.
    public init(bits: Int = 18, seed: UInt32 = 0) {
        self.bits = min(30, max(1, bits))
        self.seed = seed
    }

    /// `1 << bits`.
    public var dimension: Int { 1 << bits }

    /// The slot of `name=value`.
    public func slot(name: String, value: String) -> Int32 {
        Int32(MurmurHash3.x86_32(name + "=" + value, seed: seed) & UInt32(dimension - 1))
    }
}

/// Precomputed sparse slots for one categorical feature whose values are interned as ids
/// `0..<count` (one-hot: slot = offset + id; hashed: slot = hash of `name=value`).
///
/// - Complexity: O(1) lookup per event; building is O(values).
public struct CategorySlots: Sendable, Equatable {
    /// Slot per id.
    public private(set) var slots: ContiguousArray<Int32>

    /// One-hot slots `offset ..< offset + count`.
    public init(oneHotCount count: Int, offset: Int32 = 0) {
        slots = ContiguousArray((0..<max(0, count)).map { offset + Int32($0) })
    }

    /// Hashed slots for `values` (id = position) of feature `name`.
    public init(name: String, values: [String], hasher: FeatureHasher) {
        slots = ContiguousArray(values.map { hasher.slot(name: name, value: $0) })
    }

    /// Adds the slot for a newly interned value (id = previous count); returns its slot.
    @discardableResult
    public mutating func append(name: String, value: String, hasher: FeatureHasher) -> Int32 {
        let s = hasher.slot(name: name, value: value)
        slots.append(s)
        return s
    }

    /// Slot of id, or nil when unknown.
    @inlinable public func slot(id: Int) -> Int32? {
        id >= 0 && id < slots.count ? slots[id] : nil
    }
}
