/// A reusable, columnar batch of decoded records: one 64-bit slot per field per row.
///
/// Slot encoding by field type: `double` → IEEE bits; `int`, `timestamp` → `Int64`;
/// `bool` → 0/1; `category` → interned id; `string` → `(offset << 32) | length` into the
/// batch's byte arena. Each row also carries its source `partition` and `offset` and the event
/// time the graph assigned. A batch is cleared with ``removeAll()`` and refilled; storage is kept
/// (rows are pre-sized and grow by doubling), so a steady state allocates nothing.
///
/// Invariant: rows `0..<count` are valid; a slot's value is meaningful only when
/// ``isPresent(_:_:)`` is true.
/// - Complexity: accessors O(1); appending a row O(fields) amortised.
public struct RecordBatch: Sendable {
    /// Fields per row.
    public let fieldCount: Int
    /// Number of rows.
    public private(set) var count: Int = 0
    @usableFromInline var rowCapacity: Int
    @usableFromInline var slots: ContiguousArray<Int64>
    @usableFromInline var present: ContiguousArray<UInt8>
    @usableFromInline var strings: ContiguousArray<UInt8>
    @usableFromInline var partitionColumn: ContiguousArray<Int32>
    @usableFromInline var offsetColumn: ContiguousArray<Int64>
    @usableFromInline var eventTimeColumn: ContiguousArray<Int64>

    public init(fieldCount: Int, capacity: Int = 1024) {
        self.fieldCount = fieldCount
        rowCapacity = max(1, capacity)
        slots = ContiguousArray(repeating: 0, count: rowCapacity * fieldCount)
        present = ContiguousArray(repeating: 0, count: rowCapacity * fieldCount)
        strings = []
        strings.reserveCapacity(rowCapacity * 16)
        partitionColumn = ContiguousArray(repeating: 0, count: rowCapacity)
        offsetColumn = ContiguousArray(repeating: 0, count: rowCapacity)
        eventTimeColumn = ContiguousArray(repeating: 0, count: rowCapacity)
    }

    /// Removes all rows, keeping storage.
    public mutating func removeAll() {
        count = 0
        strings.removeAll(keepingCapacity: true)
    }

    /// Source partition of row `i`.
    @inlinable public func partition(_ i: Int) -> Int32 { partitionColumn[i] }
    /// Source offset of row `i`.
    @inlinable public func offset(_ i: Int) -> Int64 { offsetColumn[i] }
    /// Event time (epoch ms) the graph assigned to row `i` (time field or processing time).
    @inlinable public func eventTime(_ i: Int) -> Int64 { eventTimeColumn[i] }
    /// Source offsets of all rows (allocates; for tests and reports).
    public var offsets: [Int64] { Array(offsetColumn[..<count]) }
    /// Source partitions of all rows (allocates).
    public var partitions: [Int32] { Array(partitionColumn[..<count]) }

    mutating func setEventTime(_ i: Int, _ t: Int64) { eventTimeColumn[i] = t }

    /// Sets field `field` of row `row` to the raw slot `value` and marks it present.
    mutating func setRaw(_ row: Int, _ field: Int, _ value: Int64) {
        slots[row &* fieldCount &+ field] = value
        present[row &* fieldCount &+ field] = 1
    }

    mutating func grow() {
        let n = rowCapacity
        slots.append(contentsOf: repeatElement(0, count: n * fieldCount))
        present.append(contentsOf: repeatElement(0, count: n * fieldCount))
        partitionColumn.append(contentsOf: repeatElement(0, count: n))
        offsetColumn.append(contentsOf: repeatElement(0, count: n))
        eventTimeColumn.append(contentsOf: repeatElement(0, count: n))
        rowCapacity = 2 * n
    }

    /// Starts a new row (all fields absent) and returns its index.
    @usableFromInline
    mutating func appendRow(partition: Int32, offset: Int64) -> Int {
        if count == rowCapacity { grow() }
        let r = count
        let base = r * fieldCount
        present.withUnsafeMutableBufferPointer { p in
            for f in 0..<fieldCount { p[base + f] = 0 }
        }
        partitionColumn[r] = partition
        offsetColumn[r] = offset
        eventTimeColumn[r] = 0
        count = r + 1
        return r
    }

    /// Drops the last row (used when decoding it failed); `stringMark` restores the arena.
    @usableFromInline
    mutating func dropLastRow(stringMark: Int) {
        count -= 1
        strings.removeLast(strings.count - stringMark)
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
