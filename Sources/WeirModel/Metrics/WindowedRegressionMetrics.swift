import WeirStats

/// MAE and RMSE over a sliding or tumbling window of the last events (by count).
/// - Complexity: O(1) amortised per update (re-sums every `size` events); never allocates.
public struct WindowedRegressionMetrics: Sendable, Equatable {
    public let mode: WindowMode
    var errs: ContiguousArray<Double>
    var start = 0, filled = 0, sinceResum = 0
    var absSum = 0.0, sqSum = 0.0
    /// For tumbling windows: (MAE, RMSE, count) of the last complete block.
    public private(set) var lastCompleted: (mae: Double, rmse: Double, count: Int)?

    public init(mode: WindowMode) {
        self.mode = mode
        errs = ContiguousArray(repeating: 0, count: mode.size)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.mode == b.mode && a.errs == b.errs && a.start == b.start && a.filled == b.filled && a.absSum == b.absSum
            && a.sqSum == b.sqSum
    }

    /// Adds prediction `p` for target `y` (pairs with a non-finite error are ignored).
    public mutating func update(p: Double, y: Double) {
        let e = p - y
        guard e.isFinite else { return }
        let cap = errs.count
        if case .tumbling = mode, filled == cap {
            lastCompleted = (mae, rmse, filled)
            start = 0; filled = 0; absSum = 0; sqSum = 0; sinceResum = 0
        }
        if filled == cap {
            let old = errs[start]
            absSum -= abs(old); sqSum -= old * old
            start = (start + 1) % cap; filled -= 1
        }
        errs[(start + filled) % cap] = e
        filled += 1
        absSum += abs(e); sqSum += e * e
        sinceResum += 1
        if sinceResum >= cap {
            absSum = 0; sqSum = 0
            for k in 0..<filled { let v = errs[(start + k) % cap]; absSum += abs(v); sqSum += v * v }
            sinceResum = 0
        }
    }

    public var count: Int { filled }
    public var mae: Double { filled == 0 ? 0 : absSum / Double(filled) }
    public var rmse: Double { filled == 0 ? 0 : max(0, sqSum / Double(filled)).squareRoot() }
}

extension WindowedRegressionMetrics: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMWR", version: 1)
        mode.write(into: &w)
        w.write(errs)
        for v in [start, filled, sinceResum] { w.write(v) }
        w.write(absSum); w.write(sqSum)
        w.write(lastCompleted != nil)
        if let l = lastCompleted { w.write(l.mae); w.write(l.rmse); w.write(l.count) }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMWR", supportedVersions: 1...1)
        self.init(mode: try WindowMode.read(from: &r))
        let e = try r.readDoubles(field: "errs")
        guard e.count == errs.count else { throw .invalidValue(field: "WindowedRegressionMetrics", detail: "ring size") }
        errs = ContiguousArray(e)
        start = try r.readInt(); filled = try r.readInt(); sinceResum = try r.readInt()
        guard start >= 0, start < errs.count, filled >= 0, filled <= errs.count else {
            throw .invalidValue(field: "WindowedRegressionMetrics", detail: "start \(start) filled \(filled)")
        }
        absSum = try r.readDouble(); sqSum = try r.readDouble()
        lastCompleted = try r.readBool() ? (try r.readDouble(), try r.readDouble(), try r.readInt()) : nil
    }
}

/// A running mean (River's `stats.Mean` update), for prequential regression error.
public struct RunningMean: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    public init() {}
    init(count: Int, mean: Double) { self.count = count; self.mean = mean }
    public mutating func update(_ x: Double) {
        guard x.isFinite else { return }
        count += 1
        mean += (1 / Double(count)) * (x - mean)
    }
}
