/// One feature (or a group of one-hot features) of the assembled feature vector.
///
/// Every feature is finite: missing optional fields, non-finite results (e.g. `log1p` of a value
/// below −1) and window values of late or rejected events give 0 (``FeatureProgram`` states the
/// rule for expressions).
public enum FeatureSpec: Sendable, Equatable {
    /// `value(field) × scale + shift` for a numeric field.
    case field(String, scale: Double = 1, shift: Double = 0, name: String? = nil)
    /// `log1p(value(field)) × scale`.
    case log1p(String, scale: Double = 1, name: String? = nil)
    /// A column of a window operator, for the event's key and the window containing the event,
    /// *after* the event was added (e.g. the per-user count including this event), × scale.
    case window(String, column: String, scale: Double = 1, name: String? = nil)
    /// One-hot columns `<prefix><category> = 1.0` for a category field; `categories` defaults to
    /// the field's allowed set (required for open sets).
    case oneHot(String, categories: [String]? = nil, prefix: String? = nil)
    /// Any arithmetic expression over constants, numeric fields, window columns and earlier
    /// features, as a postfix ``FeatureProgram`` (e.g. `amount * device_age_days`).
    case program(FeatureProgram, name: String)
}

/// The assembled feature vectors of one processing call: row-major `values`, `dimension` per row
/// (storage is pre-sized and reused; only the first `count × dimension` values are meaningful).
/// `recordRow(i)` is the row of the decoded record in the graph's ``GraphOutputs/records``.
public struct FeatureBatch: Sendable {
    /// Column names.
    public let names: [String]
    public let dimension: Int
    /// Number of vectors.
    public private(set) var count = 0
    var storage: ContiguousArray<Double>
    var rows: ContiguousArray<Int32>

    init(names: [String], capacity: Int = 1024) {
        self.names = names
        dimension = names.count
        storage = ContiguousArray(repeating: 0, count: Swift.max(1, capacity) * names.count)
        rows = ContiguousArray(repeating: 0, count: Swift.max(1, capacity))
    }

    /// All values, row-major (`count × dimension`).
    public var values: ArraySlice<Double> { storage[0..<count * dimension] }

    /// The record row of vector `i`.
    public func recordRow(_ i: Int) -> Int { Int(rows[i]) }

    /// The record rows of all vectors (allocates).
    public var recordRows: [Int] { (0..<count).map { Int(rows[$0]) } }

    /// The features of vector `i`.
    public func vector(_ i: Int) -> ArraySlice<Double> { storage[i * dimension..<(i + 1) * dimension] }

    /// Calls `body` with vector `i` as a buffer (no copy).
    public func withVector<R>(_ i: Int, _ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[i * dimension..<(i + 1) * dimension])) }
    }

    /// Calls `body` with all `count × dimension` values (no copy).
    public func withValues<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<count * dimension])) }
    }

    /// Starts a zeroed vector for record `row`; returns its first value index.
    @inline(__always)
    mutating func appendZeroed(row: Int) -> Int {
        if count == rows.count {
            let n = rows.count
            storage.append(contentsOf: repeatElement(0, count: n * dimension))
            rows.append(contentsOf: repeatElement(0, count: n))
        }
        let base = count * dimension
        storage.withUnsafeMutableBufferPointer { v in for j in 0..<dimension { v[base + j] = 0 } }
        rows[count] = Int32(row)
        count += 1
        return base
    }

    public mutating func removeAll() { count = 0 }
}
