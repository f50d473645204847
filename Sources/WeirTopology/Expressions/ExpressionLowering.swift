import WeirCore

extension Expression {
    /// The expression with every constant subexpression replaced by its value, computed with the
    /// engine's arithmetic (``WeirCore/FeatureMath``), so folding never changes a result.
    public var folded: Expression {
        switch self {
        case .number, .identifier: return self
        case .negate(let x):
            let f = x.folded
            if case .number(let c) = f { return .number(-c) }
            return .negate(f)
        case let .binary(op, l, r):
            let a = l.folded, b = r.folded
            if case .number = a, case .number = b { return .number(Expression.binary(op, a, b).evaluate { _ in .nan }) }
            return .binary(op, a, b)
        case let .call(fn, args):
            let fa = args.map(\.folded)
            let call = Expression.call(fn, fa)
            if fa.allSatisfy({ if case .number = $0 { return true } else { return false } }) { return .number(call.evaluate { _ in .nan }) }
            return call
        }
    }
}

/// Turns expression features into the core's postfix ``WeirCore/FeatureProgram``.
///
/// An identifier reads, in this order: a windowed feature (its window column); an expression
/// feature, from the vector when it is an earlier model input, otherwise inlined and followed by
/// ``WeirCore/FeatureProgram/Instruction/finite`` (so it has the value it would have as an input:
/// the affine forms inline as the same arithmetic the engine's affine cases do); else a schema
/// field. Constants are folded.
struct ExpressionLowering {
    /// Why a feature cannot be lowered: `feature` is the declaration to point at.
    struct Failure: Error {
        var feature: String?
        var message: String
    }

    let declared: [String: FeatureDeclaration]
    let windowColumns: [String: (window: String, column: String)]
    /// Expression features already in the vector (read from it).
    let vector: Set<String>
    /// Schema fields by name (nil: not checked here; the engine checks them).
    var fields: Set<String>?
    /// The expression features being lowered, outermost first (for cycles).
    private var visiting: [String] = []

    init(declared: [String: FeatureDeclaration], windowColumns: [String: (window: String, column: String)], vector: Set<String>,
         fields: Set<String>? = nil) {
        self.declared = declared
        self.windowColumns = windowColumns
        self.vector = vector
        self.fields = fields
    }

    /// The program of expression feature `name`.
    /// - Throws: ``Failure`` for a cycle, a one-hot or unknown name, or a program too deep.
    mutating func program(for name: String) throws(Failure) -> FeatureProgram {
        guard case .expression(let e)? = declared[name]?.kind else {
            throw Failure(feature: nil, message: "'\(name)' is not an expression feature")
        }
        visiting = [name]
        var code: [FeatureProgram.Instruction] = []
        try emit(e.folded, into: &code)
        do {
            return try FeatureProgram(code)
        } catch {
            if case .invalidFeature(let detail) = error { throw Failure(feature: name, message: "feature '\(name)': \(detail)") }
            throw Failure(feature: name, message: "feature '\(name)': \(error)")
        }
    }

    private mutating func emit(_ e: Expression, into code: inout [FeatureProgram.Instruction]) throws(Failure) {
        switch e {
        case .number(let d): code.append(.constant(d))
        case .identifier(let id): try emitIdentifier(id, into: &code)
        case .negate(let x):
            try emit(x, into: &code)
            code.append(.negate)
        case let .binary(op, l, r):
            try emit(l, into: &code)
            try emit(r, into: &code)
            switch op {
            case .add: code.append(.add)
            case .subtract: code.append(.subtract)
            case .multiply: code.append(.multiply)
            case .divide: code.append(.divide)
            }
        case let .call(f, args):
            for a in args { try emit(a, into: &code) }
            switch f {
            case .log: code.append(.log)
            case .log1p: code.append(.log1p)
            case .exp: code.append(.exp)
            case .sqrt: code.append(.sqrt)
            case .abs: code.append(.abs)
            case .min: code.append(.min)
            case .max: code.append(.max)
            case .clip: code.append(.clip)
            }
        }
    }

    private mutating func emitIdentifier(_ id: String, into code: inout [FeatureProgram.Instruction]) throws(Failure) {
        if let wc = windowColumns[id] {
            code.append(.window(wc.window, column: wc.column))
            return
        }
        let outer = visiting[0]
        guard let d = declared[id] else {
            if let fields, !fields.contains(id) {
                throw Failure(feature: outer, message: "feature '\(outer)': expression reads '\(id)', which is neither a schema field nor a feature")
            }
            code.append(.field(id))
            return
        }
        switch d.kind {
        case .expression(let e):
            if vector.contains(id) {
                code.append(.feature(id))
                return
            }
            if let start = visiting.firstIndex(of: id) {
                let cycle = visiting[start...] + [id]
                throw Failure(feature: id, message: "feature '\(id)': expressions read each other in a cycle (\(cycle.joined(separator: " → ")))")
            }
            visiting.append(id)
            if let special = TopologyCompiler.compileExpression(e, name: id, windowColumns: windowColumns, declared: declared) {
                code.append(contentsOf: Self.instructions(special))
            } else {
                try emit(e.folded, into: &code)
            }
            visiting.removeLast()
            code.append(.finite)
        case .oneHot:
            throw Failure(feature: outer, message: "feature '\(outer)': expression reads '\(id)', a one_hot feature (one input per category); "
                          + "expressions read numeric fields, windowed and expression features")
        case .windowed:
            throw Failure(feature: outer, message: "feature '\(outer)': windowed feature '\(id)' has no window column")
        }
    }

    /// The instructions computing an affine ``WeirCore/FeatureSpec`` form exactly as the engine
    /// does (before its non-finite rule).
    static func instructions(_ spec: WeirCore.FeatureSpec) -> [FeatureProgram.Instruction] {
        switch spec {
        case let .field(f, scale, shift, _): return [.field(f), .constant(scale), .multiply, .constant(shift), .add]
        case let .log1p(f, scale, _): return [.field(f), .log1p, .constant(scale), .multiply]
        case let .window(w, column, scale, _): return [.window(w, column: column), .constant(scale), .multiply]
        case .oneHot: return [.constant(0)]
        case .program(let p, _): return p.instructions
        }
    }
}
