#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An arithmetic feature as a flat postfix program, e.g. `sqrt(user_sum) - log(1 + amount)` is
/// `window(user_sum) sqrt constant(1) field(amount) add log subtract`.
///
/// Operands push one value: a constant, a numeric event field (double, int, bool as 0/1,
/// timestamp as epoch ms), a column of a window operator (as ``FeatureSpec/window(_:column:scale:name:)``
/// reads it: the event's window after the event, 0 for late or rejected events), or an earlier
/// feature of the vector (by name, as already assembled). Operators pop their arguments and push
/// the result.
///
/// **Missing and non-finite values** (the same rule as the other ``FeatureSpec`` forms):
/// arithmetic is IEEE-754 double; an absent optional field reads as NaN, and every instruction
/// propagates NaN (``FeatureMath/min(_:_:)``, ``FeatureMath/max(_:_:)`` and
/// ``FeatureMath/clip(_:_:_:)`` too), so a feature that reads an absent field is 0. The feature's
/// value is the program's result when finite, else 0 (NaN from `0/0`, `log(-1)`, `sqrt(-1)`, and
/// ±Inf from `1/0`, `log(0)`, `exp(1000)` all give 0). Intermediate ±Inf follow IEEE
/// (`clip(1/0, 0, 1)` is 1). ``Instruction/finite`` applies the same rule in the middle of a
/// program (for a feature inlined into another).
///
/// Invariants (checked by ``init(_:)``): the program never pops an empty stack, ends with
/// exactly one value, and needs at most ``maxStackDepth`` values.
/// - Complexity: O(instructions) per event, allocation-free (a fixed-size stack on the call
///   stack, operands resolved to indices when the graph is built).
public struct FeatureProgram: Sendable, Equatable, CustomStringConvertible {
    /// One postfix instruction.
    public enum Instruction: Sendable, Equatable {
        /// Pushes a constant.
        case constant(Double)
        /// Pushes a numeric event field (NaN when absent).
        case field(String)
        /// Pushes a column of a window operator.
        case window(String, column: String)
        /// Pushes an earlier feature of the vector (a column name in ``FeatureAssembler/names``).
        case feature(String)
        /// Unary: `-x`.
        case negate
        /// Binary (pops `y`, then `x`, pushes `x ∘ y`).
        case add, subtract, multiply, divide
        /// Unary functions (C library semantics).
        case log, log1p, exp, sqrt, abs
        /// Binary, NaN-propagating.
        case min, max
        /// Ternary `clip(x, lo, hi) = min(max(x, lo), hi)`, NaN-propagating.
        case clip
        /// Unary: a non-finite value becomes 0 (the feature rule).
        case finite

        /// Values popped and pushed.
        public var stackEffect: (pops: Int, pushes: Int) {
            switch self {
            case .constant, .field, .window, .feature: return (0, 1)
            case .negate, .log, .log1p, .exp, .sqrt, .abs, .finite: return (1, 1)
            case .add, .subtract, .multiply, .divide, .min, .max: return (2, 1)
            case .clip: return (3, 1)
            }
        }
    }

    /// The largest stack a program may need (512 bytes on the call stack).
    public static let maxStackDepth = 64

    /// The instructions, in postfix order.
    public let instructions: [Instruction]
    /// The deepest stack the program reaches.
    public let stackDepth: Int

    /// Checks the stack discipline of `instructions`.
    /// - Throws: ``SchemaError/invalidFeature(detail:)`` when the program pops an empty stack,
    ///   does not end with exactly one value, or needs more than ``maxStackDepth`` values.
    public init(_ instructions: [Instruction]) throws(SchemaError) {
        var depth = 0, deepest = 0
        for (i, ins) in instructions.enumerated() {
            let (pops, pushes) = ins.stackEffect
            guard depth >= pops else { throw .invalidFeature(detail: "program pops an empty stack at instruction \(i) (\(ins))") }
            depth += pushes - pops
            deepest = Swift.max(deepest, depth)
        }
        guard depth == 1 else { throw .invalidFeature(detail: "program leaves \(depth) values on the stack (must be 1)") }
        guard deepest <= Self.maxStackDepth else {
            throw .invalidFeature(detail: "program needs a stack of \(deepest) values (at most \(Self.maxStackDepth)); simplify the expression")
        }
        self.instructions = instructions
        stackDepth = deepest
    }

    public var description: String {
        instructions.map { ins -> String in
            switch ins {
            case .constant(let c): return "\(c)"
            case .field(let f): return "field(\(f))"
            case let .window(w, c): return "window(\(w).\(c))"
            case .feature(let f): return "feature(\(f))"
            default: return "\(ins)"
            }
        }.joined(separator: " ")
    }
}

/// The arithmetic of ``FeatureProgram``, shared with every other evaluator of the same
/// expressions (the topology's tree evaluator, constant folding), so all agree bit for bit.
public enum FeatureMath {
    /// `min(x, y)` (`Swift.min`: `x` when equal); NaN when either is NaN.
    @inlinable @inline(__always)
    public static func min(_ x: Double, _ y: Double) -> Double { x.isNaN || y.isNaN ? .nan : (y < x ? y : x) }
    /// `max(x, y)` (`Swift.max`: `y` when equal); NaN when either is NaN.
    @inlinable @inline(__always)
    public static func max(_ x: Double, _ y: Double) -> Double { x.isNaN || y.isNaN ? .nan : (y >= x ? y : x) }
    /// `min(max(x, lo), hi)`; NaN when any is NaN (so `hi` wins when `lo > hi`).
    @inlinable @inline(__always)
    public static func clip(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x, lo), hi) }
    /// Natural logarithm (C `log`).
    @inline(__always) public static func log(_ x: Double) -> Double { _featureLog(x) }
    /// `log(1 + x)` (C `log1p`).
    @inline(__always) public static func log1p(_ x: Double) -> Double { _featureLog1p(x) }
    /// `e^x` (C `exp`).
    @inline(__always) public static func exp(_ x: Double) -> Double { _featureExp(x) }
    /// The feature rule: `x` when finite, else 0.
    @inlinable @inline(__always)
    public static func finite(_ x: Double) -> Double { x.isFinite ? x : 0 }
}

#if canImport(Glibc)
@inline(__always) func _featureLog(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _featureLog1p(_ x: Double) -> Double { Glibc.log1p(x) }
@inline(__always) func _featureExp(_ x: Double) -> Double { Glibc.exp(x) }
#else
@inline(__always) func _featureLog(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _featureLog1p(_ x: Double) -> Double { Darwin.log1p(x) }
@inline(__always) func _featureExp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
