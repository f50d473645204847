/// One feature (or a group of one-hot features) of the assembled feature vector.
///
/// Every feature is finite: missing optional fields, non-finite results (e.g. `log1p` of a value
/// below −1) and window values of late or rejected events give 0.
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
}

/// The assembled feature vectors of one processing call: row-major `values`, `dimension` per row.
/// `recordRow[i]` is the row of the decoded record in the graph's ``GraphOutputs/records``.
public struct FeatureBatch: Sendable {
    /// Column names.
    public let names: [String]
    public var dimension: Int { names.count }
    public internal(set) var values = ContiguousArray<Double>()
    public internal(set) var recordRow = ContiguousArray<Int32>()

    init(names: [String]) { self.names = names }

    /// Number of vectors.
    public var count: Int { recordRow.count }

    /// The features of vector `i`.
    public func vector(_ i: Int) -> ArraySlice<Double> { values[i * dimension..<(i + 1) * dimension] }

    /// Calls `body` with vector `i` as a buffer (no copy).
    public func withVector<R>(_ i: Int, _ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[i * dimension..<(i + 1) * dimension])) }
    }

    public mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        recordRow.removeAll(keepingCapacity: true)
    }
}
