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
        a.mode == b.mode && a.errs == b.errs && a.start == b.start && a.filled == b.filled
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
