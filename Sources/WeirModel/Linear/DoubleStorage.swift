/// A fixed-size, copy-on-write array of `Double` backed by one heap block.
///
/// Used for weights and per-coordinate optimiser state so the hot path can write through a raw
/// pointer (no exclusivity or bounds-check cost) after one uniqueness check per step.
/// Invariant: `base` points at `count` initialised doubles owned by `buffer`.
/// - Complexity: O(1) reads; `makeUnique()` is O(count) only when the storage is shared.
public struct DoubleStorage: Sendable, Equatable {
    @usableFromInline final class Buffer: @unchecked Sendable {
        @usableFromInline let count: Int
        @usableFromInline let base: UnsafeMutablePointer<Double>
        init(count: Int, repeating v: Double) {
            self.count = count
            base = .allocate(capacity: Swift.max(count, 1))
            base.initialize(repeating: v, count: Swift.max(count, 1))
        }
        @usableFromInline init(copying other: Buffer) {
            count = other.count
            base = .allocate(capacity: Swift.max(count, 1))
            base.initialize(from: other.base, count: Swift.max(count, 1))
        }
        deinit { base.deallocate() }
    }

    @usableFromInline var buffer: Buffer

    /// `count` copies of `value`.
    public init(count: Int, repeating value: Double = 0) {
        buffer = Buffer(count: Swift.max(0, count), repeating: value)
    }

    /// A copy of `values`.
    public init(_ values: [Double]) {
        buffer = Buffer(count: values.count, repeating: 0)
        for i in 0..<values.count { buffer.base[i] = values[i] }
    }

    /// Number of elements.
    @inlinable public var count: Int { buffer.count }

    /// Element `i` (bounds-checked).
    @inlinable public subscript(i: Int) -> Double {
        get { precondition(i >= 0 && i < buffer.count); return buffer.base[i] }
        set { precondition(i >= 0 && i < buffer.count); makeUnique(); buffer.base[i] = newValue }
    }

    /// Copies the storage if it is shared, then returns a pointer valid for writing until the
    /// next copy of this value is made or it is mutated through another path.
    @inlinable public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buffer) { buffer = Buffer(copying: buffer) }
    }

    /// Pointer for reading (and, after ``makeUnique()``, writing).
    @inlinable public var pointer: UnsafeMutablePointer<Double> { buffer.base }

    /// The values as an array (allocates).
    public var array: [Double] { Array(UnsafeBufferPointer(start: buffer.base, count: buffer.count)) }

    /// Bitwise equality of every element (NaN payloads and signed zeros compared exactly).
    public static func == (a: DoubleStorage, b: DoubleStorage) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a.buffer.base[i].bitPattern != b.buffer.base[i].bitPattern { return false }
        return true
    }
}
