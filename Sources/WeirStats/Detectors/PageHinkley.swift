/// Which mean shifts Page-Hinkley reports.
public enum PageHinkleyMode: String, Sendable, Equatable, CaseIterable {
    case up, down, both
}

/// Page-Hinkley configuration (River's defaults; River 0.26's default mode is `both`).
public struct PageHinkleyConfig: Sendable, Equatable {
    /// No detection before this many values.
    public var minInstances: Int
    /// Tolerated magnitude of change δ.
    public var delta: Double
    /// Detection threshold λ (compared with `>`).
    public var threshold: Double
    /// Forgetting factor α of the cumulative sums.
    public var alpha: Double
    public var mode: PageHinkleyMode

    public init(minInstances: Int = 30, delta: Double = 0.005, threshold: Double = 50, alpha: Double = 1 - 0.0001,
                mode: PageHinkleyMode = .both) {
        self.minInstances = minInstances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
    }
}

/// Page-Hinkley change detector with River's exact semantics (`river.drift.PageHinkley`).
///
/// With the running mean `x̄` (updated first), `dev = x − x̄`:
/// `S⁺ ← α·S⁺ + dev − δ`, `S⁻ ← α·S⁻ + dev + δ`, tracking `min S⁺` (from +∞) and `max S⁻`
/// (from −1, as River). After `minInstances` values, drift is `S⁺ − min S⁺ > λ` (up) and/or
/// `max S⁻ − S⁻ > λ` (down). The update after a detection first resets the detector.
///
/// λ is in the units of the input. At the defaults, stationary streams with a standard deviation
/// around 0.3 (e.g. a 10% error rate) raise about 30 alarms per million values, in River and here
/// alike; a stream with σ ≈ 0.06 raises none. Measured on a 10% error-rate stream (5 seeds × 1M):
/// λ = 100 → 4–7 false alarms per million, λ = 150 → 0–1, λ = 200 → 0, with the detection delay
/// of a 0.1 → 0.3 shift growing from ≈ 230 (λ = 50) to ≈ 1,200 values (λ = 200). Scale λ with the
/// stream's spread. Non-finite inputs are ignored and counted.
/// - Complexity: O(1) per update, no allocation.
public struct PageHinkley: Sendable, Equatable {
    public let config: PageHinkleyConfig
    var n: Double
    var mean: Double
    var sumIncrease: Double
    var sumDecrease: Double
    var minIncrease: Double
    var maxDecrease: Double
    /// True when the last update detected a change.
    public private(set) var driftDetected: Bool
    /// Detections since creation.
    public private(set) var totalDetections: Int
    /// Non-finite values offered and ignored.
    public private(set) var ignoredCount: Int

    /// - Throws: ``StatsError/invalidParameter(name:detail:)`` when `alpha` is outside (0, 1],
    ///   `threshold` ≤ 0, `delta` < 0 or `minInstances` < 1.
    public init(config: PageHinkleyConfig = PageHinkleyConfig()) throws(StatsError) {
        guard config.alpha > 0, config.alpha <= 1 else { throw .invalidParameter(name: "alpha", detail: "\(config.alpha)") }
        guard config.threshold > 0 else { throw .invalidParameter(name: "threshold", detail: "\(config.threshold)") }
        guard config.delta >= 0 else { throw .invalidParameter(name: "delta", detail: "\(config.delta)") }
        guard config.minInstances >= 1 else { throw .invalidParameter(name: "minInstances", detail: "\(config.minInstances)") }
        self.config = config
        n = 0; mean = 0; sumIncrease = 0; sumDecrease = 0; minIncrease = .infinity; maxDecrease = -1
        driftDetected = false; totalDetections = 0; ignoredCount = 0
    }

    /// Forgets the running mean and sums and clears the detection flag (River's post-drift reset);
    /// ``totalDetections`` and ``ignoredCount`` are kept.
    public mutating func reset() {
        n = 0; mean = 0; sumIncrease = 0; sumDecrease = 0; minIncrease = .infinity; maxDecrease = -1
        driftDetected = false
    }

    /// Values since the last reset.
    public var count: Int { Int(n) }
    /// Running mean since the last reset.
    public var runningMean: Double { mean }

    /// Feeds one value; returns ``driftDetected``.
    @discardableResult
    public mutating func update(_ x: Double) -> Bool {
        guard x.isFinite else { ignoredCount += 1; return driftDetected }
        if driftDetected { reset() }
        n += 1
        mean += (1 / n) * (x - mean)
        let dev = x - mean
        sumIncrease = config.alpha * sumIncrease + dev - config.delta
        sumDecrease = config.alpha * sumDecrease + dev + config.delta
        if sumIncrease < minIncrease { minIncrease = sumIncrease }
        if sumDecrease > maxDecrease { maxDecrease = sumDecrease }
        if n >= Double(config.minInstances) {
            let up = sumIncrease - minIncrease > config.threshold
            let down = maxDecrease - sumDecrease > config.threshold
            switch config.mode {
            case .up: driftDetected = up
            case .down: driftDetected = down
            case .both: driftDetected = up || down
            }
            if driftDetected { totalDetections += 1 }
        }
        return driftDetected
    }
}

extension PageHinkley: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WPHK", version: 1)
        w.write(config.minInstances); w.write(config.delta); w.write(config.threshold); w.write(config.alpha)
        w.write(UInt8(PageHinkleyMode.allCases.firstIndex(of: config.mode)!))
        w.write(n); w.write(mean); w.write(sumIncrease); w.write(sumDecrease); w.write(minIncrease); w.write(maxDecrease)
        w.write(driftDetected); w.write(totalDetections); w.write(ignoredCount)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WPHK", supportedVersions: 1...1)
        let mi = try r.readInt(), d = try r.readDouble(), t = try r.readDouble(), a = try r.readDouble()
        let m = Int(try r.readUInt8())
        guard m < PageHinkleyMode.allCases.count else { throw .invalidValue(field: "PageHinkley.mode", detail: "\(m)") }
        let cfg = PageHinkleyConfig(minInstances: mi, delta: d, threshold: t, alpha: a, mode: PageHinkleyMode.allCases[m])
        do { try self.init(config: cfg) } catch { throw .invalidValue(field: "PageHinkley.config", detail: "\(error)") }
        n = try r.readDouble(); mean = try r.readDouble(); sumIncrease = try r.readDouble(); sumDecrease = try r.readDouble()
        minIncrease = try r.readDouble(); maxDecrease = try r.readDouble()
        driftDetected = try r.readBool(); totalDetections = try r.readInt(); ignoredCount = try r.readInt()
        guard n >= 0, n < 0x1p53, n == n.rounded(), mean.isFinite else {
            throw .invalidValue(field: "PageHinkley.n", detail: "\(n)")
        }
    }
}
