import WeirStats

/// Log loss, accuracy, precision, recall and exact ROC AUC over a sliding or tumbling window
/// of the last events (by count). Predicted class is 1 when `p > 0.5` (or `p >= 0.5` with
/// `positiveAtHalf`), as ``PrequentialMetrics``.
///
/// Keeps a ring of `(p, y)`; sums are updated incrementally and re-summed from the ring every
/// `size` events so floating-point drift from subtraction stays bounded.
/// - Complexity: ``update(p:y:)`` O(1) amortised, never allocates. ``values`` is O(w log w)
///   (sorts a copy of the window for AUC) and allocates that copy.
public struct WindowedBinaryMetrics: Sendable, Equatable {
    public let mode: WindowMode
    var ps: ContiguousArray<Double>
    var ys: ContiguousArray<UInt8>
    var losses: ContiguousArray<Double>
    var start = 0
    var filled = 0
    var lossSum = 0.0
    var correct = 0, tp = 0, fp = 0, fn = 0
    var sinceResum = 0
    /// For tumbling windows: the last complete block (nil before the first completes).
    public private(set) var lastCompleted: BinaryMetricValues?

    /// Predict class 1 at exactly `p = 0.5`.
    public let positiveAtHalf: Bool

    public init(mode: WindowMode, positiveAtHalf: Bool = false) {
        self.mode = mode
        self.positiveAtHalf = positiveAtHalf
        ps = ContiguousArray(repeating: 0, count: mode.size)
        ys = ContiguousArray(repeating: 0, count: mode.size)
        losses = ContiguousArray(repeating: 0, count: mode.size)
    }

    /// Events currently in the window.
    public var count: Int { filled }

    /// Adds a prediction `p` for label `y` (0 or 1; other labels are ignored).
    public mutating func update(p: Double, y: Double) {
        guard y == 0 || y == 1 else { return }
        update(p: p, y: y, loss: binaryLogLoss(p: p, y: y))
    }

    /// As ``update(p:y:)`` with the log loss already computed (`binaryLogLoss(p:y:)`).
    public mutating func update(p: Double, y: Double, loss: Double) {
        guard y == 0 || y == 1 else { return }
        let cap = ps.count
        if case .tumbling = mode, filled == cap {
            lastCompleted = values
            start = 0; filled = 0; lossSum = 0; correct = 0; tp = 0; fp = 0; fn = 0; sinceResum = 0
        }
        if filled == cap { remove(at: start); start = (start + 1) % cap; filled -= 1 }
        let slot = (start + filled) % cap
        ps[slot] = p.isNaN ? 0.5 : p
        ys[slot] = y == 1 ? 1 : 0
        losses[slot] = loss
        filled += 1
        add(at: slot)
        sinceResum += 1
        if sinceResum >= cap { resum() }
    }

    func contribution(_ i: Int) -> (loss: Double, correct: Int, tp: Int, fp: Int, fn: Int) {
        let p = ps[i], y = ys[i]
        let pred: UInt8 = (p > 0.5 || (positiveAtHalf && p == 0.5)) ? 1 : 0
        return (losses[i], pred == y ? 1 : 0,
                pred == 1 && y == 1 ? 1 : 0, pred == 1 && y == 0 ? 1 : 0, pred == 0 && y == 1 ? 1 : 0)
    }

    mutating func add(at i: Int) {
        let c = contribution(i)
        lossSum += c.loss; correct += c.correct; tp += c.tp; fp += c.fp; fn += c.fn
    }

    mutating func remove(at i: Int) {
        let c = contribution(i)
        lossSum -= c.loss; correct -= c.correct; tp -= c.tp; fp -= c.fp; fn -= c.fn
    }

    mutating func resum() {
        var s = 0.0
        for k in 0..<filled { s += contribution((start + k) % ps.count).loss }
        lossSum = s
        sinceResum = 0
    }

    /// The metrics over the events currently in the window.
    public var values: BinaryMetricValues {
        var v = BinaryMetricValues()
        v.count = filled
        guard filled > 0 else { return v }
        v.logLoss = lossSum / Double(filled)
        v.accuracy = Double(correct) / Double(filled)
        v.precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        v.recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        var pairs = [(Double, UInt8)]()
        pairs.reserveCapacity(filled)
        for k in 0..<filled { let i = (start + k) % ps.count; pairs.append((ps[i], ys[i])) }
        v.rocAUC = exactAUC(&pairs)
        return v
    }
}

/// Exact ROC AUC of `(score, label)` pairs: the Mann–Whitney statistic with average ranks for
/// ties, divided by positives × negatives; 0.5 when either class is absent. Sorts `pairs`.
public func exactAUC(_ pairs: inout [(Double, UInt8)]) -> Double {
    pairs.sort { $0.0 < $1.0 }
    var pos = 0.0, rankSum = 0.0
    var i = 0
    let n = pairs.count
    while i < n {
        var j = i
        while j + 1 < n && pairs[j + 1].0 == pairs[i].0 { j += 1 }
        let avgRank = Double(i + j + 2) / 2
        for k in i...j where pairs[k].1 == 1 { pos += 1; rankSum += avgRank }
        i = j + 1
    }
    let neg = Double(n) - pos
    guard pos > 0, neg > 0 else { return 0.5 }
    return (rankSum - pos * (pos + 1) / 2) / (pos * neg)
}

extension WindowedBinaryMetrics: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMWB", version: 1)
        mode.write(into: &w)
        w.write(positiveAtHalf)
        w.write(ps); w.write(losses); w.writeBytes(ys)
        for v in [start, filled, correct, tp, fp, fn, sinceResum] { w.write(v) }
        w.write(lossSum)
        w.write(lastCompleted != nil)
        lastCompleted?.write(into: &w)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMWB", supportedVersions: 1...1)
        let mode = try WindowMode.read(from: &r)
        self.init(mode: mode, positiveAtHalf: try r.readBool())
        let p = try r.readDoubles(field: "ps"), l = try r.readDoubles(field: "losses"), y = try r.readBytes(field: "ys")
        guard p.count == ps.count, l.count == ps.count, y.count == ps.count else {
            throw .invalidValue(field: "WindowedBinaryMetrics", detail: "ring size does not match the window")
        }
        ps = ContiguousArray(p); losses = ContiguousArray(l); ys = ContiguousArray(y)
        start = try r.readInt(); filled = try r.readInt(); correct = try r.readInt(); tp = try r.readInt()
        fp = try r.readInt(); fn = try r.readInt(); sinceResum = try r.readInt()
        lossSum = try r.readDouble()
        guard start >= 0, start < ps.count, filled >= 0, filled <= ps.count else {
            throw .invalidValue(field: "WindowedBinaryMetrics", detail: "start \(start) filled \(filled)")
        }
        lastCompleted = try r.readBool() ? try BinaryMetricValues.read(from: &r) : nil
    }
}
