import Foundation
import Testing
import WeirCore
import WeirTestSupport

/// ``FeatureProgram`` features through a real ``StreamGraph`` against an independent tree
/// evaluator written here with Foundation's maths and the documented rule (an absent field is
/// NaN, NaN propagates through every function including min/max/clip, a non-finite result is 0).
@Suite struct ExpressionProgramTests {
    /// A random expression tree (the test's own representation).
    indirect enum Node {
        case const(Double)
        case field(String)
        case window(String)
        case feature(Int)  // an earlier program feature (its index among the programs)
        case neg(Node)
        case bin(FeatureProgram.Instruction, Node, Node)
        case fn1(FeatureProgram.Instruction, Node)
        case fn2(FeatureProgram.Instruction, Node, Node)
        case clip(Node, Node, Node)

        func postfix(_ out: inout [FeatureProgram.Instruction]) {
            switch self {
            case .const(let c): out.append(.constant(c))
            case .field(let f): out.append(.field(f))
            case .window(let c): out.append(.window("w", column: c))
            case .feature(let j): out.append(.feature("p\(j)"))
            case .neg(let x): x.postfix(&out); out.append(.negate)
            case let .bin(op, x, y), let .fn2(op, x, y): x.postfix(&out); y.postfix(&out); out.append(op)
            case let .fn1(op, x): x.postfix(&out); out.append(op)
            case let .clip(x, lo, hi): x.postfix(&out); lo.postfix(&out); hi.postfix(&out); out.append(.clip)
            }
        }
    }

    /// The reference: a plain recursive evaluation with Foundation's functions.
    static func reference(_ n: Node, field: (String) -> Double, window: (String) -> Double, feature: (Int) -> Double) -> Double {
        func ev(_ n: Node) -> Double {
            switch n {
            case .const(let c): return c
            case .field(let f): return field(f)
            case .window(let c): return window(c)
            case .feature(let j): return feature(j)
            case .neg(let x): return -ev(x)
            case let .bin(op, x, y):
                let a = ev(x), b = ev(y)
                switch op {
                case .add: return a + b
                case .subtract: return a - b
                case .multiply: return a * b
                default: return a / b
                }
            case let .fn1(op, x):
                let a = ev(x)
                switch op {
                case .log: return Foundation.log(a)
                case .log1p: return Foundation.log1p(a)
                case .exp: return Foundation.exp(a)
                case .sqrt: return Foundation.sqrt(a)
                default: return Swift.abs(a)
                }
            case let .fn2(op, x, y):
                let a = ev(x), b = ev(y)
                if a.isNaN || b.isNaN { return .nan }
                return op == .min ? Swift.min(a, b) : Swift.max(a, b)
            case let .clip(x, lo, hi):
                let a = ev(x), l = ev(lo), h = ev(hi)
                if a.isNaN || l.isNaN || h.isNaN { return .nan }
                return Swift.min(Swift.max(a, l), h)
            }
        }
        let r = ev(n)
        return r.isFinite ? r : 0
    }

    static func randomTree(depth: Int, programs: Int, using g: inout SeededGenerator) -> Node {
        if depth == 0 || Int.random(in: 0..<4, using: &g) == 0 {
            switch Int.random(in: 0..<6, using: &g) {
            case 0: return .const([0, 1, -1, 0.5, 2, 1e-3, 700, -3.25, 1e300].randomElement(using: &g)!)
            case 1, 2: return .field(["a", "b", "n", "flag", "ts"].randomElement(using: &g)!)
            case 3: return .window(["count", "max"].randomElement(using: &g)!)
            default: return programs > 0 ? .feature(Int.random(in: 0..<programs, using: &g)) : .field("a")
            }
        }
        let x = randomTree(depth: depth - 1, programs: programs, using: &g)
        switch Int.random(in: 0..<6, using: &g) {
        case 0: return .neg(x)
        case 1, 2:
            let y = randomTree(depth: depth - 1, programs: programs, using: &g)
            return .bin([.add, .subtract, .multiply, .divide].randomElement(using: &g)!, x, y)
        case 3: return .fn1([.log, .log1p, .exp, .sqrt, .abs].randomElement(using: &g)!, x)
        case 4: return .fn2([.min, .max].randomElement(using: &g)!, x, randomTree(depth: depth - 1, programs: programs, using: &g))
        default:
            return .clip(x, randomTree(depth: depth - 1, programs: programs, using: &g), randomTree(depth: depth - 1, programs: programs, using: &g))
        }
    }

    static let schema = try! Schema([
        .timestamp("ts"), .string("k"), .double("a"), .double("b", required: false), .int("n", required: false), .bool("flag", required: false),
    ])

    static func graph(_ features: [FeatureSpec]) throws -> StreamGraph {
        try StreamGraph(GraphSpec(
            schema: schema, time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 0, partitionCount: 1)),
            windows: [WindowSpec(name: "w", keyBy: "k", kind: .tumbling(size: 60_000), aggregates: [.count(), .max("a")], emitResults: false)],
            features: features))
    }

    /// Many random programs (every operator and function, fields present or absent, window
    /// columns, earlier features) on many random events equal the reference exactly.
    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func randomProgramsMatchTheReference(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        let programCount = 12
        var trees: [Node] = []
        var features: [FeatureSpec] = [.field("a", name: "a_in")]
        for j in 0..<programCount {
            let t = Self.randomTree(depth: Int.random(in: 1...5, using: &g), programs: j, using: &g)
            var code: [FeatureProgram.Instruction] = []
            t.postfix(&code)
            trees.append(t)
            features.append(.program(try FeatureProgram(code), name: "p\(j)"))
        }
        var graph = try Self.graph(features)
        // Independent window state: per key and minute, count and max(a) (events in time order).
        var win: [String: (minute: Int64, count: Double, max: Double)] = [:]
        let values: [Double] = [0, 1, -1, 2.5, -0.75, 1e-9, 3e5, -7e300, 1e300, 123.456, 0.001, -2]
        for i in 0..<400 {
            let ts = 1_700_000_000_000 + Int64(i) * 997
            let k = "k\(Int.random(in: 0..<3, using: &g))"
            let a = values.randomElement(using: &g)! * (Bool.random(using: &g) ? 1 : Double.random(in: 0.5..<2, using: &g))
            var json = #"{"ts":\#(ts),"k":"\#(k)","a":\#(a)"#
            if Bool.random(using: &g) { json += #","b":\#(values.randomElement(using: &g)!)"# }
            if Bool.random(using: &g) { json += #","n":\#(Int.random(in: -5...5, using: &g))"# }
            if Bool.random(using: &g) { json += #","flag":\#(Bool.random(using: &g))"# }
            json += "}"
            graph.clearOutputs()
            graph.process(Array(json.utf8), now: 0)
            let out = graph.outputs
            try #require(out.features.count == 1, "\(json) → \(out.deadLetters)")
            let rec = out.records, row = out.features.recordRow(0)
            func field(_ name: String) -> Double {
                let f = Self.schema.index(of: name)!
                guard rec.isPresent(row, f) else { return .nan }
                switch name {
                case "a", "b": return rec.double(row, f)
                case "flag": return rec.bool(row, f) ? 1 : 0
                default: return Double(rec.int(row, f))
                }
            }
            let minute = ts / 60_000
            let av = field("a")
            if let s = win[k], s.minute == minute { win[k] = (minute, s.count + 1, Swift.max(s.max, av)) } else { win[k] = (minute, 1, av) }
            let w = win[k]!
            let v = Array(out.features.vector(0))
            #expect(v.allSatisfy { $0.isFinite })
            var expected: [Double] = []
            for t in trees {
                let r = Self.reference(t, field: field, window: { $0 == "count" ? w.count : w.max }, feature: { expected[$0] })
                expected.append(r)
            }
            for j in 0..<programCount where v[1 + j] != expected[j] {
                Issue.record("seed \(seed) event \(i) p\(j) = \(v[1 + j]), expected \(expected[j]); \(json); program \(features[1 + j])")
            }
        }
    }

    static func one(_ code: [FeatureProgram.Instruction], _ json: String) throws -> Double {
        var graph = try Self.graph([.program(try FeatureProgram(code), name: "x")])
        graph.process(Array(json.utf8), now: 0)
        try #require(graph.outputs.features.count == 1)
        return graph.outputs.features.vector(0).first!
    }

    static let withB = #"{"ts":1700000000000,"k":"u","a":4,"b":-2,"n":3,"flag":true}"#
    static let withoutB = #"{"ts":1700000000000,"k":"u","a":4}"#

    @Test func absentFieldMakesTheFeatureZeroWhateverTheFunction() throws {
        let cases: [[FeatureProgram.Instruction]] = [
            [.field("b"), .constant(1), .add],
            [.field("b"), .constant(5), .min],
            [.constant(5), .field("b"), .max],
            [.field("a"), .field("b"), .constant(10), .clip],
            [.constant(0), .field("n"), .multiply],
            [.field("flag"), .abs],
        ]
        for c in cases { #expect(try Self.one(c, Self.withoutB) == 0, "\(c)") }
        // Present, the same programs compute.
        #expect(try Self.one(cases[0], Self.withB) == -1)
        #expect(try Self.one(cases[1], Self.withB) == -2)
        #expect(try Self.one(cases[2], Self.withB) == 5)
        #expect(try Self.one(cases[3], Self.withB) == 4)
        #expect(try Self.one(cases[5], Self.withB) == 1)
    }

    @Test func nonFiniteResultsAreZeroAndIntermediateInfinityFollowsIEEE() throws {
        let j = Self.withB
        #expect(try Self.one([.constant(0), .log], j) == 0)                                   // -inf
        #expect(try Self.one([.field("a"), .constant(0), .divide], j) == 0)                    // +inf
        #expect(try Self.one([.constant(0), .constant(0), .divide], j) == 0)                   // nan
        #expect(try Self.one([.field("b"), .sqrt], j) == 0)                                    // sqrt(-2)
        #expect(try Self.one([.constant(-2), .log1p], j) == 0)
        #expect(try Self.one([.constant(1000), .exp], j) == 0)
        #expect(try Self.one([.constant(1), .constant(0), .divide, .constant(0), .constant(1), .clip], j) == 1)
        #expect(try Self.one([.constant(1), .constant(0), .divide, .constant(7), .min], j) == 7)
        #expect(try Self.one([.constant(-1e308), .constant(10), .multiply, .exp], j) == 0)   // exp(-inf) = 0
        // .finite applies the rule mid-program: finite(log(0)) + 3 = 3.
        #expect(try Self.one([.constant(0), .log, .finite, .constant(3), .add], j) == 3)
        #expect(try Self.one([.field("b"), .finite, .constant(3), .add], Self.withoutB) == 3)
    }

    @Test func everyOperatorAndFunctionOnKnownValues() throws {
        let j = Self.withB  // a = 4, b = -2, n = 3, flag = true
        let cases: [([FeatureProgram.Instruction], Double)] = [
            ([.field("a"), .field("b"), .add], 2), ([.field("a"), .field("b"), .subtract], 6),
            ([.field("a"), .field("b"), .multiply], -8), ([.field("a"), .field("b"), .divide], -2),
            ([.field("a"), .negate], -4), ([.field("a"), .log], Foundation.log(4)), ([.field("a"), .log1p], Foundation.log1p(4)),
            ([.field("n"), .exp], Foundation.exp(3)), ([.field("a"), .sqrt], 2), ([.field("b"), .abs], 2),
            ([.field("a"), .field("b"), .min], -2), ([.field("a"), .field("b"), .max], 4),
            ([.field("a"), .constant(0), .field("n"), .clip], 3), ([.field("b"), .constant(0), .field("n"), .clip], 0),
            ([.field("flag"), .field("n"), .add], 4), ([.field("ts"), .constant(1e12), .subtract], 7e11),
            ([.window("w", column: "count"), .window("w", column: "max"), .multiply], 4),
        ]
        for (c, e) in cases { #expect(try Self.one(c, j) == e, "\(c)") }
    }

    @Test func invalidProgramsAreRejected() throws {
        #expect(throws: SchemaError.self) { _ = try FeatureProgram([.add]) }
        #expect(throws: SchemaError.self) { _ = try FeatureProgram([]) }
        #expect(throws: SchemaError.self) { _ = try FeatureProgram([.constant(1), .constant(2)]) }
        #expect(throws: SchemaError.self) { _ = try FeatureProgram([.constant(1), .constant(2), .clip]) }
        // Stack depth: a right-nested chain of 63 additions needs 64 values (allowed), 64 need 65.
        func chain(_ n: Int) -> [FeatureProgram.Instruction] {
            Array(repeating: FeatureProgram.Instruction.field("a"), count: n + 1) + Array(repeating: .add, count: n)
        }
        #expect(try FeatureProgram(chain(63)).stackDepth == 64)
        #expect(throws: SchemaError.self) { _ = try FeatureProgram(chain(64)) }
        #expect(try Self.one(chain(63), Self.withB) == 256)
        // Operands must exist (and fields be numeric; features earlier in the vector).
        #expect(throws: SchemaError.unknownField(name: "zz")) { _ = try Self.graph([.program(try FeatureProgram([.field("zz")]), name: "x")]) }
        #expect(throws: SchemaError.self) { _ = try Self.graph([.program(try FeatureProgram([.field("k")]), name: "x")]) }
        #expect(throws: SchemaError.unknownWindow(name: "v")) {
            _ = try Self.graph([.program(try FeatureProgram([.window("v", column: "count")]), name: "x")])
        }
        #expect(throws: SchemaError.unknownAggregate(window: "w", name: "sum")) {
            _ = try Self.graph([.program(try FeatureProgram([.window("w", column: "sum")]), name: "x")])
        }
        #expect(throws: SchemaError.self) {
            _ = try Self.graph([.program(try FeatureProgram([.feature("y")]), name: "x"), .program(try FeatureProgram([.constant(1)]), name: "y")])
        }
        #expect(throws: SchemaError.self) { _ = try Self.graph([.program(try FeatureProgram([.feature("x")]), name: "x")]) }
    }
}
