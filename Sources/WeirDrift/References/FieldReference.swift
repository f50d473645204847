import WeirStats

/// What one field's statistics are compared against: a prepared numeric reference (sorted sample
/// or sketch quantile grid, PSI edges, bin counts, moments) or reference category counts; or
/// nothing usable (the reference period had no valid value), which makes every window undefined.
public enum FieldReference: Sendable, Equatable {
    case numeric(NumericReference)
    case categorical(CategoryCounts)
    /// The reference period had no valid value (e.g. an all-NaN field).
    case empty(FieldKind)

    public var kind: FieldKind {
        switch self {
        case .numeric: return .numeric
        case .categorical: return .categorical
        case .empty(let k): return k
        }
    }

    /// Values in the reference.
    public var count: Int {
        switch self {
        case .numeric(let r): return r.count
        case .categorical(let c): return c.total
        case .empty: return 0
        }
    }
}

extension FieldReference: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WFRF", version: 1)
        switch self {
        case .numeric(let r): w.write(UInt8(0)); r.serialize(into: &w)
        case .categorical(let c): w.write(UInt8(1)); c.serialize(into: &w)
        case .empty(let k): w.write(UInt8(k == .numeric ? 2 : 3))
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WFRF", supportedVersions: 1...1)
        switch try r.readUInt8() {
        case 0: self = .numeric(try NumericReference(deserializing: &r))
        case 1: self = .categorical(try CategoryCounts(deserializing: &r))
        case 2: self = .empty(.numeric)
        case 3: self = .empty(.categorical)
        case let k: throw .invalidValue(field: "FieldReference.kind", detail: "\(k)")
        }
    }
}

/// Collects one field's reference values during the reference period.
///
/// Numeric values are kept raw up to `cap`; past the cap they all move into a ``KLLSketch`` (with
/// exact ``RunningMoments``) and ``build(bins:)`` returns a sketch-backed reference whose info
/// records the sketch's rank error. Non-finite values must be filtered by the caller.
/// - Complexity: `add` O(1) amortised below the cap, O(log) amortised in the sketch.
public struct ReferenceBuilder: Sendable {
    public let kind: FieldKind
    public let cap: Int
    var raw: [Double] = []
    var sketch: KLLSketch?
    var moments = RunningMoments()
    var categories = CategoryCounts()
    let sketchK: Int
    /// An empty sketch with `sketchK`, validated at init (copied when the cap is passed).
    let emptySketch: KLLSketch

    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` for `cap < 1` or a bad `sketchK`.
    public init(kind: FieldKind, cap: Int = 1_000_000, sketchK: Int = 400) throws(StatsError) {
        guard cap >= 1 else { throw .invalidParameter(name: "cap", detail: "\(cap) < 1") }
        emptySketch = try KLLSketch(k: sketchK)
        self.kind = kind; self.cap = cap; self.sketchK = sketchK
    }

    /// Valid values collected.
    public var count: Int { kind == .numeric ? moments.count : categories.total }

    /// Adds a finite numeric value.
    public mutating func add(_ x: Double) {
        moments.add(x)
        if sketch == nil {
            if raw.count < cap { raw.append(x); return }
            var s = emptySketch
            for v in raw { s.insert(v) }
            raw = []
            sketch = s
        }
        sketch!.insert(x)
    }

    /// Adds a category.
    public mutating func add(category id: Int32) { categories.add(id) }

    /// True when the numeric values went past the cap into the sketch.
    public var isSketched: Bool { sketch != nil }

    /// Builds the reference (``FieldReference/empty(_:)`` when no valid value arrived).
    /// - Throws: ``StatsError`` only for an invalid `bins`.
    public func build(bins: Int = 10) throws(StatsError) -> FieldReference {
        switch kind {
        case .categorical:
            return categories.total > 0 ? .categorical(categories) : .empty(.categorical)
        case .numeric:
            if let s = sketch {
                // grid no larger than the count (NumericReference's snapshot rejects a longer grid)
                return .numeric(try NumericReference(sketch: s, bins: bins, gridSize: Swift.min(100_000, s.count),
                                                     moments: moments))
            }
            if raw.isEmpty { return .empty(.numeric) }
            return .numeric(try NumericReference(sample: raw, bins: bins))
        }
    }

    /// Rank error of the sketch when sketched, else nil.
    public var sketchRankError: Double? { sketch?.rankErrorBound }
}
