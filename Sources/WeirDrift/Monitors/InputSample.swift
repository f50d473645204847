import WeirStats

/// A uniform sample of at most `capacity` model-input vectors (`dimension` doubles each, stored
/// flat), for judging a score monitor under one fixed model (see ``RescoringConfig``).
///
/// Which vectors are kept is decided by a ``ReservoirSample`` (Algorithm R, seeded, the project's
/// one RNG): the vector is written to the slot the reservoir chose, so the sample is deterministic
/// and restores exactly from a snapshot. Invariant: `vectors.count == slots.kept * dimension`.
/// - Complexity: ``add(_:)`` O(dimension), allocation-free once full; ``scores(into:_:)``
///   O(kept · cost of one score); memory `capacity · dimension · 8` bytes (20,000 × 13: 2 MB).
public struct InputSample: Sendable, Equatable {
    /// Doubles per vector.
    public let dimension: Int
    var slots: ReservoirSample
    var vectors: [Double]

    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `capacity < 1` or `dimension < 1`.
    public init(dimension: Int, capacity: Int, seed: UInt64) throws(StatsError) {
        guard dimension >= 1 else { throw .invalidParameter(name: "dimension", detail: "\(dimension) < 1") }
        self.dimension = dimension
        slots = try ReservoirSample(capacity: capacity, seed: seed)
        vectors = []
    }

    /// Vectors offered since the last reset.
    public var seen: Int { slots.seen }
    /// Vectors held (`min(seen, capacity)`).
    public var kept: Int { slots.kept }
    public var capacity: Int { slots.capacity }

    /// Offers one vector; a vector of the wrong length is ignored.
    public mutating func add(_ v: UnsafeBufferPointer<Double>) {
        guard v.count == dimension, let slot = slots.offer(0) else { return }
        if slot * dimension == vectors.count {
            vectors.append(contentsOf: v)
        } else {
            vectors.withUnsafeMutableBufferPointer { dst in
                for k in 0..<dimension { dst[slot * dimension + k] = v[k] }
            }
        }
    }

    /// Vectors scored between two calls of the `pause` of ``scores(into:pause:_:)`` (~0.1 ms of
    /// the demo's model on this project's machines).
    public static let scoresPerPause = 2_048

    /// Scores every kept vector with `score`, keeping the finite results in `out` (its storage
    /// reused). `pause`, when given, is called after every ``scoresPerPause`` vectors (never
    /// after the last): the caller may do other work there (a runner answers serving requests)
    /// as long as it leaves the sample and `out` alone.
    public func scores(into out: inout [Double], pause: (() -> Void)? = nil, _ score: (UnsafeBufferPointer<Double>) -> Double) {
        out.removeAll(keepingCapacity: true)
        vectors.withUnsafeBufferPointer { all in
            for i in 0..<kept {
                if let pause, i > 0, i % Self.scoresPerPause == 0 { pause() }
                let s = score(UnsafeBufferPointer(rebasing: all[i * dimension..<(i + 1) * dimension]))
                if s.isFinite { out.append(s) }
            }
        }
    }

    /// Empties the sample, keeping storage and the random state.
    public mutating func reset() {
        slots.reset()
        vectors.removeAll(keepingCapacity: true)
    }
}

extension InputSample: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WINS", version: 1)
        w.write(dimension)
        slots.serialize(into: &w)
        w.write(vectors)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WINS", supportedVersions: 1...1)
        dimension = try r.readInt()
        slots = try ReservoirSample(deserializing: &r)
        vectors = try r.readDoubles(field: "InputSample.vectors")
        guard dimension >= 1, vectors.count == slots.kept * dimension else {
            throw .invalidValue(field: "InputSample", detail: "dimension \(dimension), \(slots.kept) kept, \(vectors.count) values")
        }
    }
}
