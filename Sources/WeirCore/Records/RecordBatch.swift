/// A reusable, columnar batch of decoded records: one 64-bit slot per field per row.
///
/// Slot encoding by field type: `double` → IEEE bits; `int`, `timestamp` → `Int64`;
/// `bool` → 0/1; `category` → interned id; `string` → `(offset << 32) | length` into the
/// batch's byte arena. Each row also carries its source `partition` and `offset`.
/// A batch is cleared with ``removeAll()`` and refilled; its storage is kept, so a steady
/// state allocates nothing.
///
/// Invariant: `slots.count == rowCount * fieldCount`; a slot's value is meaningful only when
/// ``isPresent(_:_:)`` is true.
/// - Complexity: accessors O(1).
public struct RecordBatch: Sendable {
    /// Fields per row.
    public let fieldCount: Int
    @usableFromInline var slots: ContiguousArray<Int64>
    @usableFromInline var present: ContiguousArray<UInt8>
    @usableFromInline var strings: ContiguousArray<UInt8>
    /// Source partition of each row.
    public internal(set) var partitions: ContiguousArray<Int32>
    /// Source offset of each row.
    public internal(set) var offsets: ContiguousArray<Int64>
    /// Event time (epoch ms) of each row, as assigned by the graph (time field or processing time).
    public internal(set) var eventTimes: ContiguousArray<Int64>

    public init(fieldCount: Int, capacity: Int = 1024) {
        self.fieldCount = fieldCount
        slots = []; present = []; strings = []; partitions = []; offsets = []; eventTimes = []
        slots.reserveCapacity(capacity * fieldCount)
        present.reserveCapacity(capacity * fieldCount)
        strings.reserveCapacity(capacity * 16)
        partitions.reserveCapacity(capacity); offsets.reserveCapacity(capacity); eventTimes.reserveCapacity(capacity)
    }

    /// Number of rows.
    @inlinable public var count: Int { partitions.count }

    /// Removes all rows, keeping storage.
    public mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        present.removeAll(keepingCapacity: true)
        strings.removeAll(keepingCapacity: true)
        partitions.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        eventTimes.removeAll(keepingCapacity: true)
    }

    /// Appends an empty row (all fields absent) and returns its index.
    @usableFromInline
    mutating func appendRow(partition: Int32, offset: Int64) -> Int {
        let need = present.count + fieldCount
        if present.capacity >= need && fieldCount <= 16 {
            // fast path: grow without a per-element loop
            present.append(contentsOf: Self.zeros16.prefix(fieldCount))
            slots.append(contentsOf: Self.zeroSlots16.prefix(fieldCount))
        } else {
            for _ in 0..<fieldCount { slots.append(0); present.append(0) }
        }
        partitions.append(partition)
        offsets.append(offset)
        eventTimes.append(0)
        return partitions.count - 1
    }

    static let zeros16 = ContiguousArray<UInt8>(repeating: 0, count: 16)
    static let zeroSlots16 = ContiguousArray<Int64>(repeating: 0, count: 16)

    /// Drops the last row (used when decoding it failed); `stringMark` restores the arena.
    @usableFromInline
    mutating func dropLastRow(stringMark: Int) {
        slots.removeLast(fieldCount)
        present.removeLast(fieldCount)
        partitions.removeLast(); offsets.removeLast(); eventTimes.removeLast()
        strings.removeLast(strings.count - stringMark)
    }

    @inlinable @inline(__always)
    mutating func set(_ row: Int, _ field: Int, _ v: Int64) {
        let i = row &* fieldCount &+ field
        slots[i] = v
        present[i] = 1
    }

    /// True when the field was present (and not `null`) in the row.
    @inlinable public func isPresent(_ row: Int, _ field: Int) -> Bool { present[row &* fieldCount &+ field] != 0 }
    /// The raw slot.
    @inlinable public func raw(_ row: Int, _ field: Int) -> Int64 { slots[row &* fieldCount &+ field] }
    /// A `double` field.
    @inlinable public func double(_ row: Int, _ field: Int) -> Double { Double(bitPattern: UInt64(bitPattern: raw(row, field))) }
    /// An `int` or `timestamp` field.
    @inlinable public func int(_ row: Int, _ field: Int) -> Int64 { raw(row, field) }
    /// A `bool` field.
    @inlinable public func bool(_ row: Int, _ field: Int) -> Bool { raw(row, field) != 0 }
    /// A `category` field's interned id.
    @inlinable public func category(_ row: Int, _ field: Int) -> Int32 { Int32(truncatingIfNeeded: raw(row, field)) }

    /// Any numeric field (double, int, bool, timestamp) as `Double`; `type` is the field's type.
    @inlinable
    public func numeric(_ row: Int, _ field: Int, type: FieldType) -> Double {
        switch type {
        case .double: return double(row, field)
        case .int, .timestamp, .bool: return Double(raw(row, field))
        case .category: return Double(raw(row, field))
        case .string: return 0
        }
    }

    /// Calls `body` with the bytes of a `string` field (valid only inside `body`).
    @inlinable
    public func withStringBytes<R>(_ row: Int, _ field: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let v = UInt64(bitPattern: raw(row, field))
        let off = Int(v >> 32), len = Int(v & 0xFFFF_FFFF)
        return try strings.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[off..<off + len])) }
    }

    /// A `string` field as a `String` (allocates; not for hot paths).
    public func string(_ row: Int, _ field: Int) -> String {
        withStringBytes(row, field) { String(decoding: $0, as: UTF8.self) }
    }
}
