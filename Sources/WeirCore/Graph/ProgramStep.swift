/// One ``FeatureProgram`` instruction with its operand resolved to indices (field, window and
/// column, or vector column), as ``FeatureAssembler`` runs it per event.
struct ProgramStep: Sendable {
    enum Code: UInt8, Sendable {
        case constant, field, window, feature
        case negate, add, subtract, multiply, divide
        case log, log1p, exp, sqrt, abs, min, max, clip, finite
    }
    var code: Code
    /// field: the field's type.
    var type: FieldType = .double
    /// field: field index; window: window index; feature: vector column.
    var a: Int32 = 0
    /// window: column index.
    var b: Int32 = 0
    /// constant: the value.
    var value: Double = 0

    /// Resolves `ins` against the schema, the window operators (requesting their current
    /// values) and the feature names assembled so far.
    static func resolve(_ ins: FeatureProgram.Instruction, schema: Schema, windows: inout [WindowOperator],
                        names: [String]) throws(SchemaError) -> ProgramStep {
        switch ins {
        case .constant(let c): return ProgramStep(code: .constant, value: c)
        case .field(let f):
            let i = try schema.requireField(f, types: [.double, .int, .bool, .timestamp])
            return ProgramStep(code: .field, type: schema.fields[i].type, a: Int32(i))
        case let .window(w, col):
            guard let wi = windows.firstIndex(where: { $0.spec.name == w }) else { throw .unknownWindow(name: w) }
            guard let ci = windows[wi].columnNames.firstIndex(of: col) else { throw .unknownAggregate(window: w, name: col) }
            windows[wi].requireCurrent(column: ci)
            return ProgramStep(code: .window, a: Int32(wi), b: Int32(ci))
        case .feature(let f):
            guard let c = names.firstIndex(of: f) else {
                throw .invalidFeature(detail: "program reads feature '\(f)', which is not an earlier feature of the vector")
            }
            return ProgramStep(code: .feature, a: Int32(c))
        case .negate: return ProgramStep(code: .negate)
        case .add: return ProgramStep(code: .add)
        case .subtract: return ProgramStep(code: .subtract)
        case .multiply: return ProgramStep(code: .multiply)
        case .divide: return ProgramStep(code: .divide)
        case .log: return ProgramStep(code: .log)
        case .log1p: return ProgramStep(code: .log1p)
        case .exp: return ProgramStep(code: .exp)
        case .sqrt: return ProgramStep(code: .sqrt)
        case .abs: return ProgramStep(code: .abs)
        case .min: return ProgramStep(code: .min)
        case .max: return ProgramStep(code: .max)
        case .clip: return ProgramStep(code: .clip)
        case .finite: return ProgramStep(code: .finite)
        }
    }

    /// Runs `steps` (a program validated by ``FeatureProgram/init(_:)``) for record `row`, with
    /// `vector` the features of this row assembled so far; returns the feature value (finite).
    /// - Complexity: O(steps); allocation-free (the stack lives on the call stack).
    @inline(never)
    static func run(_ steps: UnsafeBufferPointer<ProgramStep>, depth: Int, batch: RecordBatch, row: Int,
                    windows: [WindowOperator], vector: UnsafeMutableBufferPointer<Double>) -> Double {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: depth) { s -> Double in
            var n = 0  // values on the stack
            for st in steps {
                switch st.code {
                case .constant:
                    s[n] = st.value; n &+= 1
                case .field:
                    let f = Int(st.a)
                    s[n] = batch.isPresent(row, f) ? batch.numeric(row, f, type: st.type) : .nan; n &+= 1
                case .window:
                    s[n] = windows[Int(st.a)].current[Int(st.b)]; n &+= 1
                case .feature:
                    s[n] = vector[Int(st.a)]; n &+= 1
                case .negate: s[n &- 1] = -s[n &- 1]
                case .add: n &-= 1; s[n &- 1] = s[n &- 1] + s[n]
                case .subtract: n &-= 1; s[n &- 1] = s[n &- 1] - s[n]
                case .multiply: n &-= 1; s[n &- 1] = s[n &- 1] * s[n]
                case .divide: n &-= 1; s[n &- 1] = s[n &- 1] / s[n]
                case .log: s[n &- 1] = FeatureMath.log(s[n &- 1])
                case .log1p: s[n &- 1] = FeatureMath.log1p(s[n &- 1])
                case .exp: s[n &- 1] = FeatureMath.exp(s[n &- 1])
                case .sqrt: s[n &- 1] = s[n &- 1].squareRoot()
                case .abs: s[n &- 1] = Swift.abs(s[n &- 1])
                case .min: n &-= 1; s[n &- 1] = FeatureMath.min(s[n &- 1], s[n])
                case .max: n &-= 1; s[n &- 1] = FeatureMath.max(s[n &- 1], s[n])
                case .clip: n &-= 2; s[n &- 1] = FeatureMath.clip(s[n &- 1], s[n], s[n &+ 1])
                case .finite: s[n &- 1] = FeatureMath.finite(s[n &- 1])
                }
            }
            return FeatureMath.finite(s[0])
        }
    }
}
