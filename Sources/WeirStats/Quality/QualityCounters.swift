/// Data-quality counters for one field over one window: how many values arrived, and how many were
/// missing, of the wrong type, NaN, ±Inf, outside an expected range, or in a category unseen in the
/// reference. Rates are shares of ``total`` and are 0 (never NaN) for an empty window.
///
/// ``record(_:range:)`` classifies a numeric value and tells the caller whether it is usable for
/// the drift statistics (finite; out-of-range values are counted but still usable).
/// Mergeable by addition and snapshot-able.
/// - Complexity: O(1) per value, no allocation.
public struct QualityCounters: Sendable, Equatable {
    /// Events in which the field was expected (present or not).
    public var total: Int = 0
    /// Field absent or null.
    public var missing: Int = 0
    /// Present but not of the declared type (e.g. a string in a numeric field).
    public var invalidType: Int = 0
    /// NaN values.
    public var nan: Int = 0
    /// +Inf or −Inf values.
    public var infinite: Int = 0
    /// Finite values outside the expected range.
    public var outOfRange: Int = 0
    /// Categorical values whose category is absent from the reference.
    public var newCategory: Int = 0

    public init() {}

    /// Counts an event where the field was missing or null.
    @inlinable public mutating func recordMissing() { total += 1; missing += 1 }
    /// Counts an event where the field had the wrong type.
    @inlinable public mutating func recordInvalidType() { total += 1; invalidType += 1 }

    /// Counts a numeric value; returns true when it is finite (usable for statistics).
    @inlinable @discardableResult
    public mutating func record(_ x: Double, range: ClosedRange<Double>? = nil) -> Bool {
        total += 1
        if x.isNaN { nan += 1; return false }
        if x.isInfinite { infinite += 1; return false }
        if let r = range, !r.contains(x) { outOfRange += 1 }
        return true
    }

    /// Counts a categorical value; `known` says whether the reference has its category.
    @inlinable public mutating func recordCategory(known: Bool) {
        total += 1
        if !known { newCategory += 1 }
    }

    @inline(__always) func rate(_ n: Int) -> Double { total > 0 ? Double(n) / Double(total) : 0 }
    public var missingRate: Double { rate(missing) }
    public var invalidTypeRate: Double { rate(invalidType) }
    public var outOfRangeRate: Double { rate(outOfRange) }
    public var nonFiniteCount: Int { nan + infinite }
    public var newCategoryRate: Double { rate(newCategory) }
    /// Values usable for statistics: present, of the right type, finite.
    public var validCount: Int { total - missing - invalidType - nan - infinite }

    /// Adds another window's (or partition's) counters.
    public mutating func merge(_ o: QualityCounters) {
        total += o.total; missing += o.missing; invalidType += o.invalidType; nan += o.nan
        infinite += o.infinite; outOfRange += o.outOfRange; newCategory += o.newCategory
    }

    public mutating func reset() { self = QualityCounters() }
}

extension QualityCounters: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WQLT", version: 1)
        for v in [total, missing, invalidType, nan, infinite, outOfRange, newCategory] { w.write(v) }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WQLT", supportedVersions: 1...1)
        total = try r.readInt(); missing = try r.readInt(); invalidType = try r.readInt(); nan = try r.readInt()
        infinite = try r.readInt(); outOfRange = try r.readInt(); newCategory = try r.readInt()
        let parts = [missing, invalidType, nan, infinite, outOfRange, newCategory]
        guard total >= 0, parts.allSatisfy({ $0 >= 0 && $0 <= total }) else {
            throw .invalidValue(field: "QualityCounters", detail: "counts \(parts) exceed total \(total)")
        }
    }
}
