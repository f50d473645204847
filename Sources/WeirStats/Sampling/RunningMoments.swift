/// Count, mean, variance (Welford), min and max of a stream, O(1) and allocation-free per value.
///
/// Mergeable (Chan et al. parallel update) and snapshot-able. The caller filters non-finite values.
public struct RunningMoments: Sendable, Equatable {
    @usableFromInline var n: Int
    @usableFromInline var mu: Double
    @usableFromInline var m2: Double
    @usableFromInline var lo: Double
    @usableFromInline var hi: Double

    public init() {
        n = 0; mu = 0; m2 = 0; lo = .infinity; hi = -.infinity
    }

    /// Values added.
    public var count: Int { n }
    /// Mean (0 when empty).
    public var mean: Double { mu }
    /// Smallest value (+∞ when empty).
    public var min: Double { lo }
    /// Largest value (−∞ when empty).
    public var max: Double { hi }

    /// Adds one value.
    @inlinable
    public mutating func add(_ x: Double) {
        n += 1
        let d = x - mu
        mu += d / Double(n)
        m2 += d * (x - mu)
        if x < lo { lo = x }
        if x > hi { hi = x }
    }

    /// Population variance (ddof 0); 0 when fewer than two values.
    public var variance: Double { count > 1 ? Swift.max(0, m2 / Double(count)) : 0 }
    /// Sample variance (ddof 1); 0 when fewer than two values.
    public var sampleVariance: Double { count > 1 ? Swift.max(0, m2 / Double(count - 1)) : 0 }

    /// Combines with another stream's moments.
    public mutating func merge(_ o: RunningMoments) {
        guard o.n > 0 else { return }
        guard n > 0 else { self = o; return }
        let total = n + o.n
        let d = o.mu - mu
        mu += d * Double(o.n) / Double(total)
        m2 += o.m2 + d * d * Double(n) * Double(o.n) / Double(total)
        n = total
        lo = Swift.min(lo, o.lo)
        hi = Swift.max(hi, o.hi)
    }

    public mutating func reset() { self = RunningMoments() }
}

extension RunningMoments: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMOM", version: 1)
        w.write(n); w.write(mu); w.write(m2); w.write(lo); w.write(hi)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMOM", supportedVersions: 1...1)
        n = try r.readInt(); mu = try r.readDouble(); m2 = try r.readDouble()
        lo = try r.readDouble(); hi = try r.readDouble()
        guard n >= 0 else { throw .invalidValue(field: "RunningMoments.count", detail: "\(n)") }
    }
}
