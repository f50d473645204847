import WeirStats

/// Online standardisation of the numeric block of a ``ModelInput`` (Welford mean and variance
/// per feature): `x ← (x − mean) / sd`, with `sd` the population standard deviation; a feature
/// whose variance is still 0 maps to 0 (River's `StandardScaler` does the same).
///
/// Non-finite values are ignored by the statistics and left for the model to reject; a finite
/// value whose update would overflow the moments is standardised with the current statistics
/// without updating them (so the statistics never become infinite or NaN).
/// - Complexity: O(numericCount) per event, one division and one square root per feature;
///   never allocates.
public struct OnlineStandardizer: Sendable, Equatable {
    /// Finite values seen, per feature.
    @inlinable public var counts: ContiguousArray<Double> { _counts }
    /// Running means.
    @inlinable public var means: ContiguousArray<Double> { _means }
    /// Running sums of squared deviations (variance = m2 / count).
    @inlinable public var m2: ContiguousArray<Double> { _m2 }
    @usableFromInline var _counts: ContiguousArray<Double>
    @usableFromInline var _means: ContiguousArray<Double>
    @usableFromInline var _m2: ContiguousArray<Double>

    public init(numericCount: Int) {
        _counts = ContiguousArray(repeating: 0, count: numericCount)
        _means = _counts
        _m2 = _counts
    }

    /// Updates the statistics with `input`'s numeric values, then standardises them in place
    /// (the current value is included, as River's `StandardScaler.learn_one` then `transform_one`).
    @inlinable public mutating func observeAndTransform(_ input: inout ModelInput) {
        let n = min(counts.count, input.numeric.count)
        for i in 0..<n {
            let x = input.numeric[i]
            guard x.isFinite else { continue }
            let c = _counts[i] + 1
            let d = x - _means[i]
            let mean = _means[i] + d / c
            let m2 = _m2[i] + d * (x - mean)
            if mean.isFinite && m2.isFinite {
                _counts[i] = c; _means[i] = mean; _m2[i] = m2
            }
            // A value so extreme that the moments would overflow is standardised with the
            // previous statistics and not absorbed into them.
            let v = _m2[i] / _counts[i]
            let z = v > 0 ? (x - _means[i]) / v.squareRoot() : 0
            input.numeric[i] = z.isFinite ? z : 0
        }
    }

    /// Standardises without updating the statistics.
    @inlinable public func transform(_ input: inout ModelInput) {
        let n = min(counts.count, input.numeric.count)
        for i in 0..<n {
            let x = input.numeric[i]
            guard x.isFinite, counts[i] > 0 else { continue }
            let v = m2[i] / counts[i]
            input.numeric[i] = v > 0 ? (x - means[i]) / v.squareRoot() : 0
        }
    }
}

extension OnlineStandardizer: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMST", version: 1)
        w.write(counts); w.write(means); w.write(m2)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMST", supportedVersions: 1...1)
        let c = try r.readDoubles(field: "counts"), m = try r.readDoubles(field: "means"), s = try r.readDoubles(field: "m2")
        guard c.count == m.count, m.count == s.count else {
            throw .invalidValue(field: "OnlineStandardizer", detail: "array lengths differ")
        }
        _counts = ContiguousArray(c); _means = ContiguousArray(m); _m2 = ContiguousArray(s)
    }
}
