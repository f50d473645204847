import WeirStats

/// The shape of a model's input: dense numeric features followed by a sparse block.
///
/// Weight index of numeric feature `i` is `i`; of sparse index `k` it is `numericCount + k`.
/// Invariants: `numericCount >= 0`, `sparseDimension >= 0`, `sparseCapacity >= 0`.
public struct FeatureLayout: Sendable, Equatable, Hashable {
    /// Number of dense numeric features.
    public var numericCount: Int
    /// Size of the sparse index space (one-hot slots or `2^bits` hash buckets).
    public var sparseDimension: Int
    /// Most sparse entries one event may carry.
    public var sparseCapacity: Int

    public init(numericCount: Int, sparseDimension: Int = 0, sparseCapacity: Int = 0) {
        self.numericCount = max(0, numericCount)
        self.sparseDimension = max(0, sparseDimension)
        self.sparseCapacity = max(0, sparseCapacity)
    }

    /// Number of weights (intercept excluded).
    @inlinable public var dimension: Int { numericCount + sparseDimension }
}

/// One event as the model sees it: dense numeric values plus up to `sparseCapacity` sparse
/// (index, value) pairs, typically one-hot or hashed categories with value 1.
///
/// Independent of WeirCore: a topology adapter fills it from the core's feature vectors.
/// Reuse one instance per stream: filling it (``setNumeric(_:_:)``, ``removeAllSparse()``,
/// ``appendSparse(index:value:)``) never allocates.
/// - Complexity: O(1) per set/append; storage O(numericCount + sparseCapacity).
public struct ModelInput: Sendable, Equatable {
    /// The layout this input was built for.
    public let layout: FeatureLayout
    /// Dense values, `layout.numericCount` of them.
    public var numeric: ContiguousArray<Double>
    /// Sparse indices; only the first ``sparseCount`` are meaningful.
    @inlinable public var sparseIndices: ContiguousArray<Int32> { _sparseIndices }
    /// Sparse values; only the first ``sparseCount`` are meaningful.
    @inlinable public var sparseValues: ContiguousArray<Double> { _sparseValues }
    /// Number of sparse entries in use.
    @inlinable public var sparseCount: Int { _sparseCount }
    @usableFromInline var _sparseIndices: ContiguousArray<Int32>
    @usableFromInline var _sparseValues: ContiguousArray<Double>
    @usableFromInline var _sparseCount: Int = 0

    /// An all-zero input with no sparse entries.
    public init(layout: FeatureLayout) {
        self.layout = layout
        numeric = ContiguousArray(repeating: 0, count: layout.numericCount)
        _sparseIndices = ContiguousArray(repeating: 0, count: layout.sparseCapacity)
        _sparseValues = ContiguousArray(repeating: 0, count: layout.sparseCapacity)
    }

    /// Sets numeric feature `i` (ignored when out of range).
    @inlinable public mutating func setNumeric(_ i: Int, _ value: Double) {
        if i >= 0 && i < numeric.count { numeric[i] = value }
    }

    /// Gives `body` the numeric block to fill in place (e.g. a block copy from a feature vector).
    @inlinable public mutating func withUnsafeMutableNumeric<R>(_ body: (UnsafeMutableBufferPointer<Double>) throws -> R) rethrows -> R {
        try numeric.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Fills the whole input in one pass: `body` gets the numeric block and a ``SparseWriter``
    /// (sparse entries are reset to none first). Cheaper than per-value setters (one uniqueness
    /// check per array instead of one per write); the fast path for adapters.
    @inlinable public mutating func fill<R>(_ body: (UnsafeMutableBufferPointer<Double>, inout SparseWriter) throws -> R) rethrows -> R {
        let dim = layout.sparseDimension
        let r = try numeric.withUnsafeMutableBufferPointer { nb in
            try _sparseIndices.withUnsafeMutableBufferPointer { ib in
                try _sparseValues.withUnsafeMutableBufferPointer { vb in
                    var w = SparseWriter(indices: ib.baseAddress!, values: vb.baseAddress!, capacity: ib.count, dimension: dim)
                    let r = try body(nb, &w)
                    _sparseCount = w.count
                    return r
                }
            }
        }
        return r
    }

    /// Drops all sparse entries.
    @inlinable public mutating func removeAllSparse() { _sparseCount = 0 }

    /// Adds a sparse entry. Returns false (and adds nothing) when the input is full or `index` is
    /// outside `0..<layout.sparseDimension`.
    @inlinable @discardableResult
    public mutating func appendSparse(index: Int32, value: Double = 1) -> Bool {
        guard _sparseCount < _sparseIndices.count, index >= 0, Int(index) < layout.sparseDimension else { return false }
        _sparseIndices[_sparseCount] = index
        _sparseValues[_sparseCount] = value
        _sparseCount += 1
        return true
    }

    /// Equal layouts, numeric values and sparse entries in use (unused capacity is ignored).
    public static func == (a: ModelInput, b: ModelInput) -> Bool {
        guard a.layout == b.layout, a.numeric == b.numeric, a._sparseCount == b._sparseCount else { return false }
        for k in 0..<a._sparseCount where a._sparseIndices[k] != b._sparseIndices[k] || a._sparseValues[k] != b._sparseValues[k] {
            return false
        }
        return true
    }

    /// True when every numeric and sparse value is finite.
    @inlinable public var isFinite: Bool {
        for v in numeric where !v.isFinite { return false }
        for k in 0..<_sparseCount where !_sparseValues[k].isFinite { return false }
        return true
    }

    /// Replaces every non-finite value by 0; returns how many were replaced.
    @inlinable @discardableResult
    public mutating func zeroNonFinite() -> Int {
        var n = 0
        for i in 0..<numeric.count where !numeric[i].isFinite { numeric[i] = 0; n += 1 }
        for k in 0..<sparseCount where !_sparseValues[k].isFinite { _sparseValues[k] = 0; n += 1 }
        return n
    }

    /// Copies `other`'s values into this input (layouts must match; otherwise copies what fits).
    @inlinable public mutating func assign(from other: ModelInput) {
        let n = min(numeric.count, other.numeric.count)
        for i in 0..<n { numeric[i] = other.numeric[i] }
        _sparseCount = 0
        for k in 0..<other.sparseCount { appendSparse(index: other.sparseIndices[k], value: other.sparseValues[k]) }
    }

    /// Loads values from raw slab storage (used by ``LabelJoiner`` and ``LabelledBuffer``).
    @inlinable mutating func load(numeric src: UnsafePointer<Double>, indices: UnsafePointer<Int32>,
                                  values: UnsafePointer<Double>, numericCount: Int, sparseCount n: Int) {
        for i in 0..<min(numeric.count, numericCount) { numeric[i] = src[i] }
        _sparseCount = min(max(0, n), _sparseIndices.count)
        for k in 0..<_sparseCount { _sparseIndices[k] = indices[k]; _sparseValues[k] = values[k] }
    }

    /// Stores values into raw slab storage.
    @inlinable func store(numeric dst: UnsafeMutablePointer<Double>, indices: UnsafeMutablePointer<Int32>,
                          values: UnsafeMutablePointer<Double>, maxNumeric: Int, maxSparse: Int) -> Int {
        for i in 0..<min(numeric.count, maxNumeric) { dst[i] = numeric[i] }
        let n = min(_sparseCount, maxSparse)
        for k in 0..<n { indices[k] = _sparseIndices[k]; values[k] = _sparseValues[k] }
        return n
    }
}

/// Appends sparse entries during ``ModelInput/fill(_:)``; valid only inside that call.
public struct SparseWriter {
    @usableFromInline let indices: UnsafeMutablePointer<Int32>
    @usableFromInline let values: UnsafeMutablePointer<Double>
    @usableFromInline let capacity: Int
    @usableFromInline let dimension: Int
    /// Entries written so far.
    @inlinable public var count: Int { _count }
    @usableFromInline var _count = 0

    @usableFromInline init(indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Double>, capacity: Int, dimension: Int) {
        self.indices = indices
        self.values = values
        self.capacity = capacity
        self.dimension = dimension
    }

    /// Adds an entry; false (nothing added) when full or `index` is outside the sparse dimension.
    @inlinable @discardableResult
    public mutating func append(index: Int32, value: Double = 1) -> Bool {
        guard _count < capacity, index >= 0, Int(index) < dimension else { return false }
        indices[_count] = index
        values[_count] = value
        _count += 1
        return true
    }
}

extension ModelInput {
    /// Writes the numeric block and the sparse entries in use (no header; the layout is the caller's).
    func write(into w: inout ByteWriter) {
        for v in numeric { w.write(v) }
        w.write(_sparseCount)
        for k in 0..<_sparseCount { w.write(_sparseIndices[k]); w.write(_sparseValues[k]) }
    }

    /// Reads what ``write(into:)`` wrote, for this input's layout.
    mutating func read(from r: inout ByteReader) throws(SerializationError) {
        for i in 0..<numeric.count { numeric[i] = try r.readDouble() }
        let n = try r.readCount(field: "sparseCount", limit: _sparseIndices.count)
        _sparseCount = 0
        for _ in 0..<n {
            let i = try r.readInt32(), v = try r.readDouble()
            guard appendSparse(index: i, value: v) else { throw .invalidValue(field: "sparse index", detail: "\(i)") }
        }
    }
}

extension FeatureLayout {
    func write(into w: inout ByteWriter) { w.write(numericCount); w.write(sparseDimension); w.write(sparseCapacity) }

    static func read(from r: inout ByteReader) throws(SerializationError) -> FeatureLayout {
        let a = try r.readCount(field: "numericCount"), b = try r.readCount(field: "sparseDimension")
        let c = try r.readCount(field: "sparseCapacity")
        return FeatureLayout(numericCount: a, sparseDimension: b, sparseCapacity: c)
    }
}
