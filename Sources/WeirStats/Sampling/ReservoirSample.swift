/// A uniform random sample of at most `capacity` values from a stream (Vitter's Algorithm R),
/// deterministic given its seed; used for current windows beyond their sample cap.
///
/// The first `capacity` values are kept as they come; value number `n > capacity` replaces a
/// random slot with probability `capacity / n`. ``seen`` and ``kept`` tell a drift record whether
/// (and how much) it was sampled. The caller filters non-finite values before ``add(_:)``.
/// - Complexity: `add` O(1), allocation-free (storage reserved up front); memory O(capacity).
public struct ReservoirSample: Sendable, Equatable {
    /// Maximum number of values kept.
    public let capacity: Int
    @usableFromInline var buffer: [Double]
    @usableFromInline var seen_: Int
    @usableFromInline var rng: SplitMix64

    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `capacity < 1`.
    public init(capacity: Int, seed: UInt64 = 0x5EED_5A3B) throws(StatsError) {
        guard capacity >= 1 else { throw .invalidParameter(name: "capacity", detail: "\(capacity) < 1") }
        self.capacity = capacity
        buffer = []
        buffer.reserveCapacity(capacity)
        seen_ = 0
        rng = SplitMix64(seed: seed)
    }

    /// Values offered since the last reset.
    public var seen: Int { seen_ }
    /// Values held (`min(seen, capacity)`).
    public var kept: Int { buffer.count }
    /// True when values were dropped (the sample is a random subset).
    public var isSampled: Bool { seen_ > capacity }
    /// The kept values, in no particular order.
    public var values: [Double] { buffer }

    /// Offers one value.
    @inlinable
    public mutating func add(_ x: Double) { _ = offer(x) }

    /// Offers one value; returns the slot (index in ``values``) it was written to, or nil when it
    /// was dropped. A caller keeping data beside each value (e.g. a vector) mirrors the slots.
    @inlinable @discardableResult
    public mutating func offer(_ x: Double) -> Int? {
        seen_ &+= 1
        if buffer.count < capacity {
            buffer.append(x)
            return buffer.count - 1
        }
        let j = Int(truncatingIfNeeded: rng.next(below: UInt64(seen_)))
        guard j < capacity else { return nil }
        buffer.withUnsafeMutableBufferPointer { $0[j] = x }
        return j
    }

    /// Copies the kept values into `out` (reusing its storage) and sorts them ascending, ready for
    /// ``NumericReference/compare(sortedCurrent:options:)-([Double],_)``.
    /// - Complexity: O(k log k), allocation-free once `out` has grown to `capacity`.
    public func sortedValues(into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: buffer)
        InPlaceSort.sort(&out)
    }

    /// Empties the sample for the next window, keeping storage and the random state.
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        seen_ = 0
    }
}

extension ReservoirSample: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WRSV", version: 1)
        w.write(capacity)
        w.write(seen_)
        w.write(rng.state)
        w.write(buffer)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WRSV", supportedVersions: 1...1)
        let cap = try r.readInt()
        let seen = try r.readInt()
        let state = try r.readUInt64()
        let values = try r.readDoubles(field: "ReservoirSample.values")
        guard cap >= 1, cap <= Int(Int32.max), seen >= values.count, values.count == Swift.min(seen, cap) else {
            throw .invalidValue(field: "ReservoirSample", detail: "capacity \(cap) seen \(seen) kept \(values.count)")
        }
        capacity = cap
        buffer = values
        // reserve up front only what a plausible window needs; a hostile capacity cannot force a huge allocation
        buffer.reserveCapacity(Swift.min(cap, Swift.max(values.count, 1 << 16)))
        seen_ = seen
        rng = SplitMix64(seed: state)
    }
}
