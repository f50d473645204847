import WeirCore

/// An arithmetic expression over event fields and features, e.g. `log1p(amount) / 5`.
///
/// Grammar: numbers, identifiers, `+ - * /`, unary `-`, parentheses and the functions in
/// ``Expression/Function``. Parsed once when the topology loads; the engine runs it as a flat
/// postfix ``WeirCore/FeatureProgram`` (see ``TopologyCompiler``), no allocation per event.
/// ``evaluate(_:)`` is the tree reference with the same arithmetic.
public indirect enum Expression: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case identifier(String)
    case negate(Expression)
    case binary(Operator, Expression, Expression)
    case call(Function, [Expression])

    public enum Operator: Character, Sendable, Equatable { case add = "+", subtract = "-", multiply = "*", divide = "/" }

    public enum Function: String, Sendable, Equatable, CaseIterable {
        case log, log1p, exp, sqrt, abs, min, max, clip
        /// How many arguments the function takes.
        public var arity: Int {
            switch self {
            case .min, .max: return 2
            case .clip: return 3
            default: return 1
            }
        }
    }

    /// Every identifier the expression reads.
    public var identifiers: [String] {
        switch self {
        case .number: return []
        case .identifier(let s): return [s]
        case .negate(let e): return e.identifiers
        case .binary(_, let a, let b): return a.identifiers + b.identifiers
        case .call(_, let args): return args.flatMap(\.identifiers)
        }
    }

    public var description: String {
        switch self {
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .identifier(let s): return s
        case .negate(let e): return "-(\(e))"
        case let .binary(op, a, b): return "(\(a) \(op.rawValue) \(b))"
        case let .call(f, args): return "\(f.rawValue)(\(args.map(\.description).joined(separator: ", ")))"
        }
    }

    /// Evaluates with `lookup` giving each identifier's value (NaN for a missing one), with the
    /// engine's arithmetic (``WeirCore/FeatureMath``: IEEE-754, NaN-propagating `min`, `max`,
    /// `clip`). Non-finite results are the caller's to handle (a feature makes them 0).
    /// - Complexity: O(nodes), no allocation.
    public func evaluate(_ lookup: (String) -> Double) -> Double {
        switch self {
        case .number(let d): return d
        case .identifier(let s): return lookup(s)
        case .negate(let e): return -e.evaluate(lookup)
        case let .binary(op, a, b):
            let x = a.evaluate(lookup), y = b.evaluate(lookup)
            switch op {
            case .add: return x + y
            case .subtract: return x - y
            case .multiply: return x * y
            case .divide: return x / y
            }
        case let .call(f, args):
            let x = args[0].evaluate(lookup)
            switch f {
            case .log: return FeatureMath.log(x)
            case .log1p: return FeatureMath.log1p(x)
            case .exp: return FeatureMath.exp(x)
            case .sqrt: return x.squareRoot()
            case .abs: return Swift.abs(x)
            case .min: return FeatureMath.min(x, args[1].evaluate(lookup))
            case .max: return FeatureMath.max(x, args[1].evaluate(lookup))
            case .clip: return FeatureMath.clip(x, args[1].evaluate(lookup), args[2].evaluate(lookup))
            }
        }
    }
}

/// A syntax error in an expression: what and at which character (0-based offset into the text).
public struct ExpressionError: Error, Equatable, Sendable {
    public var message: String
    public var offset: Int
}

/// Recursive-descent parser for ``Expression``.
public struct ExpressionParser {
    private let chars: [Character]
    private var i = 0

    public static func parse(_ text: String) throws(ExpressionError) -> Expression {
        var p = ExpressionParser(chars: Array(text))
        let e = try p.parseSum()
        p.skipSpace()
        if p.i < p.chars.count { throw ExpressionError(message: "unexpected '\(p.chars[p.i])'", offset: p.i) }
        return e
    }

    private init(chars: [Character]) { self.chars = chars }

    private mutating func skipSpace() { while i < chars.count && chars[i].isWhitespace { i += 1 } }

    private mutating func parseSum() throws(ExpressionError) -> Expression {
        var lhs = try parseProduct()
        while true {
            skipSpace()
            guard i < chars.count, chars[i] == "+" || chars[i] == "-" else { return lhs }
            let op = Expression.Operator(rawValue: chars[i])!
            i += 1
            lhs = .binary(op, lhs, try parseProduct())
        }
    }

    private mutating func parseProduct() throws(ExpressionError) -> Expression {
        var lhs = try parseUnary()
        while true {
            skipSpace()
            guard i < chars.count, chars[i] == "*" || chars[i] == "/" else { return lhs }
            let op = Expression.Operator(rawValue: chars[i])!
            i += 1
            lhs = .binary(op, lhs, try parseUnary())
        }
    }

    private mutating func parseUnary() throws(ExpressionError) -> Expression {
        skipSpace()
        if i < chars.count && chars[i] == "-" {
            i += 1
            return .negate(try parseUnary())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        skipSpace()
        guard i < chars.count else { throw ExpressionError(message: "expression ends too early", offset: i) }
        let c = chars[i]
        if c == "(" {
            i += 1
            let e = try parseSum()
            skipSpace()
            guard i < chars.count, chars[i] == ")" else { throw ExpressionError(message: "missing ')'", offset: i) }
            i += 1
            return e
        }
        if c.isNumber || c == "." {
            let start = i
            while i < chars.count && (chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E"
                || ((chars[i] == "-" || chars[i] == "+") && (chars[i - 1] == "e" || chars[i - 1] == "E"))) { i += 1 }
            guard let d = Double(String(chars[start..<i])) else {
                throw ExpressionError(message: "bad number '\(String(chars[start..<i]))'", offset: start)
            }
            return .number(d)
        }
        if c.isLetter || c == "_" {
            let start = i
            while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == ".") { i += 1 }
            let name = String(chars[start..<i])
            skipSpace()
            guard i < chars.count, chars[i] == "(" else { return .identifier(name) }
            guard let f = Expression.Function(rawValue: name) else {
                throw ExpressionError(
                    message: "unknown function '\(name)' (allowed: \(Expression.Function.allCases.map(\.rawValue).joined(separator: ", ")))",
                    offset: start)
            }
            i += 1
            var args: [Expression] = []
            skipSpace()
            if i < chars.count && chars[i] == ")" {
                i += 1
            } else {
                while true {
                    args.append(try parseSum())
                    skipSpace()
                    guard i < chars.count else { throw ExpressionError(message: "missing ')'", offset: i) }
                    if chars[i] == "," { i += 1; continue }
                    if chars[i] == ")" { i += 1; break }
                    throw ExpressionError(message: "expected ',' or ')'", offset: i)
                }
            }
            guard args.count == f.arity else {
                throw ExpressionError(message: "\(name) takes \(f.arity) argument(s), got \(args.count)", offset: start)
            }
            return .call(f, args)
        }
        throw ExpressionError(message: "unexpected '\(c)'", offset: i)
    }
}
