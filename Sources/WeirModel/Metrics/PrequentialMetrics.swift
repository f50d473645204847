import WeirStats

/// Prequential (test-then-train) log loss and accuracy over the whole stream, computed as River's
/// `metrics.LogLoss` and `metrics.Accuracy`: the log loss clamps `p` to `[1e-15, 1 − 1e-15]` and is
/// averaged with River's incremental mean; the predicted class is 1 when `p > 0.5` (River's
/// `predict_one` takes the larger of `1 − p` and `p`, ties to 0), or when `p >= 0.5` with
/// `positiveAtHalf` (the bench workload contract's `Accuracy(y, p >= 0.5)`).
/// - Complexity: O(1) per update; never allocates.
public struct PrequentialMetrics: Sendable, Equatable {
    public private(set) var count = 0
    /// Mean log loss so far (0 before the first update).
    public private(set) var logLoss = 0.0
    public private(set) var correct = 0
    /// Predict class 1 at exactly `p = 0.5` (default false, as River's `predict_one`).
    public let positiveAtHalf: Bool

    public init(positiveAtHalf: Bool = false) { self.positiveAtHalf = positiveAtHalf }

    /// Adds one prediction `p` = P(y = 1) for label `y` (0 or 1; other labels are ignored).
    public mutating func update(p: Double, y: Double) {
        guard y == 0 || y == 1 else { return }
        update(p: p, y: y, loss: binaryLogLoss(p: p, y: y))
    }

    /// As ``update(p:y:)`` with the log loss already computed (`binaryLogLoss(p:y:)`).
    public mutating func update(p: Double, y: Double, loss: Double) {
        guard y == 0 || y == 1 else { return }
        count += 1
        logLoss += (1 / Double(count)) * (loss - logLoss)
        if ((p > 0.5 || (positiveAtHalf && p == 0.5)) ? 1.0 : 0.0) == y { correct += 1 }
    }

    /// Fraction of correct predictions (0 before the first update).
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
}

/// How a windowed metric forgets.
/// - `sliding(n)`: the last `n` events.
/// - `tumbling(n)`: consecutive blocks of `n` events; values describe the current partial block,
///   and ``WindowedBinaryMetrics/lastCompleted`` the most recent full block.
public enum WindowMode: Sendable, Equatable {
    case sliding(Int)
    case tumbling(Int)

    public var size: Int {
        switch self { case .sliding(let n), .tumbling(let n): return max(1, n) }
    }
}

/// Values of binary-classification metrics over a window.
/// Ratios whose denominator is 0 are reported as 0 (AUC as 0.5 when one class is absent).
public struct BinaryMetricValues: Sendable, Equatable {
    public var count = 0
    public var logLoss = 0.0
    public var accuracy = 0.0
    public var precision = 0.0
    public var recall = 0.0
    /// Exact ROC AUC over the window (Mann–Whitney U with tied scores counted as 1/2).
    public var rocAUC = 0.5
    public init() {}
}

extension PrequentialMetrics: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMPQ", version: 1)
        w.write(count); w.write(logLoss); w.write(correct); w.write(positiveAtHalf)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMPQ", supportedVersions: 1...1)
        count = try r.readInt(); logLoss = try r.readDouble(); correct = try r.readInt()
        positiveAtHalf = try r.readBool()
    }
}

extension WindowMode {
    func write(into w: inout ByteWriter) {
        switch self {
        case .sliding(let n): w.write(UInt8(0)); w.write(n)
        case .tumbling(let n): w.write(UInt8(1)); w.write(n)
        }
    }

    static func read(from r: inout ByteReader) throws(SerializationError) -> WindowMode {
        let k = try r.readUInt8(), n = try r.readCount(field: "window size", limit: 1 << 26)
        switch k {
        case 0: return .sliding(n)
        case 1: return .tumbling(n)
        default: throw .invalidValue(field: "WindowMode", detail: "kind \(k)")
        }
    }
}

extension BinaryMetricValues {
    func write(into w: inout ByteWriter) {
        w.write(count); w.write(logLoss); w.write(accuracy); w.write(precision); w.write(recall); w.write(rocAUC)
    }

    static func read(from r: inout ByteReader) throws(SerializationError) -> BinaryMetricValues {
        var v = BinaryMetricValues()
        v.count = try r.readInt(); v.logLoss = try r.readDouble(); v.accuracy = try r.readDouble()
        v.precision = try r.readDouble(); v.recall = try r.readDouble(); v.rocAUC = try r.readDouble()
        return v
    }
}
