import WeirStats

/// A per-coordinate online optimiser for ``LinearModel``.
///
/// Conforming types are structs; the model is generic over them, so every call is specialised
/// (no existential per event). One learning step is: ``beginStep()`` (makes the optimiser's state
/// uniquely owned and returns the step's learning rate), one ``update(_:weight:gradient:rate:)``
/// per coordinate present in the event (it returns the new weight; the model stores it), then
/// ``endStep()``.
/// Invariant: after ``resize(dimension:)`` the optimiser has state for `dimension` coordinates.
public protocol OnlineOptimizer: Sendable, Equatable, ByteSerializable {
    /// Short name used in records ("sgd", "adagrad", "ftrl").
    static var name: String { get }
    /// Steps taken so far (River's `optimizer.n_iterations`).
    var iterations: Int { get }
    /// Allocates per-coordinate state for `dimension` weights (discarding existing state if the
    /// size changes).
    mutating func resize(dimension: Int)
    /// Prepares a step; returns the learning rate for it (used by the cumulative L1 penalty).
    mutating func beginStep() -> Double
    /// The new weight of coordinate `j` whose current weight is `w`, given its gradient `g`
    /// (updating the optimiser's per-coordinate state). Only valid between ``beginStep()`` and
    /// ``endStep()``.
    func update(_ j: Int, weight w: Double, gradient g: Double, rate: Double) -> Double
    /// Finishes a step (increments ``iterations``).
    mutating func endStep()
    /// Updates the dense block `0..<count` in one call: `w_j ← update(w_j, x_j·g + l2·w_j)`, then
    /// clamps to `±maxAbs` (NaN becomes 0). Returns how many weights were clamped or reset.
    /// The default loops over ``update(_:weight:gradient:rate:)``; ``SGD`` uses SIMD.
    func updateDense(weights w: UnsafeMutablePointer<Double>, x: UnsafePointer<Double>, count: Int,
                     g: Double, l2: Double, rate: Double, maxAbs: Double) -> Int
}

extension OnlineOptimizer {
    @inlinable public func updateDense(weights w: UnsafeMutablePointer<Double>, x: UnsafePointer<Double>, count: Int,
                                       g: Double, l2: Double, rate: Double, maxAbs: Double) -> Int {
        var outside = 0
        for j in 0..<count {
            let wj = w[j]
            let nw = update(j, weight: wj, gradient: x[j] * g + l2 * wj, rate: rate)
            if abs(nw) <= maxAbs { w[j] = nw } else { outside += 1; w[j] = nw.isNaN ? 0 : (nw < 0 ? -maxAbs : maxAbs) }
        }
        return outside
    }
}

/// Clamps `w[0..<count]` to `±maxAbs` and resets NaN to 0; returns how many were changed.
@inlinable func repairWeights(_ w: UnsafeMutablePointer<Double>, count: Int, maxAbs: Double) -> Int {
    var n = 0
    for j in 0..<count where !(abs(w[j]) <= maxAbs) {
        n += 1
        w[j] = w[j].isNaN ? 0 : (w[j] < 0 ? -maxAbs : maxAbs)
    }
    return n
}

/// Plain SGD: `w ← w − rate·g` (River `optim.SGD`).
/// - Complexity: O(1) per coordinate, no state besides the step count.
public struct SGD: OnlineOptimizer {
    public static let name = "sgd"
    public var schedule: LearningRate
    public var iterations = 0

    public init(_ schedule: LearningRate = .constant(0.01)) { self.schedule = schedule }
    public init(lr: Double) { schedule = .constant(lr) }

    public mutating func resize(dimension: Int) {}
    @inlinable public mutating func beginStep() -> Double { schedule.rate(at: iterations) }
    @inlinable public func update(_ j: Int, weight w: Double, gradient g: Double, rate: Double) -> Double {
        w - rate * g
    }
    @inlinable public mutating func endStep() { iterations += 1 }

    /// Vectorisable version of the dense update; same arithmetic per coordinate as
    /// ``update(_:weight:gradient:rate:)``. Out-of-range or NaN results are flagged with an
    /// OR-reduction and repaired in a second pass only then.
    @inlinable public func updateDense(weights w: UnsafeMutablePointer<Double>, x: UnsafePointer<Double>, count: Int,
                                       g: Double, l2: Double, rate: Double, maxAbs: Double) -> Int {
        var flag: UInt64 = 0
        if l2 == 0 {
            // x·g + 0·w equals x·g whenever the result is finite (the flag catches the rest).
            for j in 0..<count {
                let nw = w[j] - rate * (x[j] * g)
                flag |= abs(nw) <= maxAbs ? 0 : 1   // NaN compares false: flagged too
                w[j] = nw
            }
        } else {
            for j in 0..<count {
                let wj = w[j]
                let nw = wj - rate * (x[j] * g + l2 * wj)
                flag |= abs(nw) <= maxAbs ? 0 : 1
                w[j] = nw
            }
        }
        guard flag != 0 else { return 0 }
        return repairWeights(w, count: count, maxAbs: maxAbs)
    }

    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WOSG", version: 1)
        schedule.serialize(into: &w)
        w.write(iterations)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WOSG", supportedVersions: 1...1)
        schedule = try LearningRate(deserializing: &r)
        iterations = try r.readInt()
    }
}

/// AdaGrad: `G_j ← G_j + g²; w ← w − rate/√(G_j + eps)·g` (River `optim.AdaGrad`, lr 0.1, eps 1e-8).
/// - Complexity: O(1) per coordinate, one square root; state O(dimension).
public struct AdaGrad: OnlineOptimizer {
    public static let name = "adagrad"
    public var schedule: LearningRate
    public var eps: Double
    public var iterations = 0
    public var g2 = DoubleStorage(count: 0)

    public init(_ schedule: LearningRate = .constant(0.1), eps: Double = 1e-8) {
        self.schedule = schedule
        self.eps = eps
    }

    public mutating func resize(dimension: Int) {
        if g2.count != dimension { g2 = DoubleStorage(count: dimension) }
    }
    @inlinable public mutating func beginStep() -> Double {
        g2.makeUnique()
        return schedule.rate(at: iterations)
    }
    @inlinable public func update(_ j: Int, weight w: Double, gradient g: Double, rate: Double) -> Double {
        let s = g2.pointer + j
        let acc = s.pointee + g * g
        s.pointee = acc
        return w - rate / (acc + eps).squareRoot() * g
    }
    @inlinable public mutating func endStep() { iterations += 1 }

    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WOAG", version: 1)
        schedule.serialize(into: &w)
        w.write(eps); w.write(iterations); w.write(g2.array)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WOAG", supportedVersions: 1...1)
        schedule = try LearningRate(deserializing: &r)
        eps = try r.readDouble()
        iterations = try r.readInt()
        g2 = DoubleStorage(try r.readDoubles(field: "g2"))
    }
}

/// FTRL-Proximal (McMahan et al. 2013), per coordinate with L1 and L2:
/// `σ = (√(n + g²) − √n)/α; z ← z + g − σ·w; n ← n + g²;`
/// `w = 0 if |z| ≤ l1, else −(z − sign(z)·l1) / ((β + √n)/α + l2)`.
/// Defaults are River's `FTRLProximal(alpha=0.05, beta=1, l1=0, l2=1)`. Unlike River, which
/// recomputes `w` from the *previous* step's `z, n` before applying the gradient, the weight
/// is recomputed right after the update, so the next prediction uses the current state.
/// - Complexity: O(1) per coordinate, two square roots; state O(2·dimension).
public struct FTRLProximal: OnlineOptimizer {
    public static let name = "ftrl"
    public var alpha: Double, beta: Double, l1: Double, l2: Double
    public var iterations = 0
    public var z = DoubleStorage(count: 0)
    public var n = DoubleStorage(count: 0)

    public init(alpha: Double = 0.05, beta: Double = 1, l1: Double = 0, l2: Double = 1) {
        self.alpha = alpha; self.beta = beta; self.l1 = l1; self.l2 = l2
    }

    public mutating func resize(dimension: Int) {
        if z.count != dimension { z = DoubleStorage(count: dimension); n = DoubleStorage(count: dimension) }
    }
    @inlinable public mutating func beginStep() -> Double {
        z.makeUnique(); n.makeUnique()
        return alpha
    }
    @inlinable public func update(_ j: Int, weight w: Double, gradient g: Double, rate: Double) -> Double {
        let zp = z.pointer + j, np = n.pointer + j
        let n0 = np.pointee, n1 = n0 + g * g
        let sqrtN1 = n1.squareRoot()
        let sigma = (sqrtN1 - n0.squareRoot()) / alpha
        let zz = zp.pointee + g - sigma * w
        zp.pointee = zz
        np.pointee = n1
        if abs(zz) <= l1 { return 0 }
        let sgn: Double = zz < 0 ? -1 : 1
        return -(zz - sgn * l1) / ((beta + sqrtN1) / alpha + l2)
    }
    @inlinable public mutating func endStep() { iterations += 1 }

    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WOFT", version: 1)
        w.write(alpha); w.write(beta); w.write(l1); w.write(l2); w.write(iterations)
        w.write(z.array); w.write(n.array)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WOFT", supportedVersions: 1...1)
        alpha = try r.readDouble(); beta = try r.readDouble(); l1 = try r.readDouble(); l2 = try r.readDouble()
        iterations = try r.readInt()
        z = DoubleStorage(try r.readDoubles(field: "z")); n = DoubleStorage(try r.readDoubles(field: "n"))
        guard z.count == n.count else { throw .invalidValue(field: "FTRLProximal", detail: "z/n lengths differ") }
    }
}
