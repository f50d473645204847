import Foundation
import Testing
import WeirCore
@testable import WeirTopology

/// General expressions in topologies: every valid expression compiles (non-affine ones to a
/// ``FeatureProgram``), and the compiled graph's features equal the tree evaluation of the
/// declared expressions (``Expression/evaluate(_:)``, expression features read recursively with
/// the feature rule, windowed features recomputed here).
@Suite struct ExpressionCompilerTests {
    static let topology = """
        name: expr
        source: {topics: [in], key: user, event_time: ts}
        schema:
          ts: timestamp
          user: string
          amount: double
          device_age_days: int
          bonus: {type: double, required: false}
          label: {type: int, required: false, min: 0, max: 1}
        features:
          user_sum: {window: {tumbling: 1m}, by: user, aggregate: sum, field: amount}
          user_count: {window: {tumbling: 1m}, by: user, aggregate: count}
          risk: "amount * device_age_days"
          mix: "sqrt(user_sum) - log(1 + amount)"
          ratio: "min(amount, 500) / max(user_count, 1)"
          combined: "risk / 1000 + mix"
          hidden: "log1p(bonus) * 2"
          uses_hidden: "hidden + clip(amount, 0, 10) - exp(-abs(bonus))"
          folded: "amount * (2 * 3 + 1) - -(4 / 8)"
          count_shift: "user_count / 4 + 1"
        model:
          inputs: [risk, ratio, combined, uses_hidden, mix, folded, count_shift]
        """

    static func compile(_ text: String = topology) throws(TopologyError) -> CompiledTopology {
        try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "expr.yaml"))
    }

    static func program(_ c: CompiledTopology, _ name: String) -> FeatureProgram? {
        for f in c.graph.features { if case let .program(p, n) = f, n == name { return p } }
        return nil
    }

    @Test func nonAffineExpressionsCompileToPrograms() throws {
        let c = try Self.compile()
        #expect(c.inputNames == ["risk", "ratio", "combined", "uses_hidden", "mix", "folded", "count_shift"])
        let uw = try #require(c.windowColumns["user_sum"]), uc = try #require(c.windowColumns["user_count"])
        #expect(Self.program(c, "risk")?.instructions == [.field("amount"), .field("device_age_days"), .multiply])
        #expect(Self.program(c, "mix")?.instructions == [.window(uw.window, column: uw.column), .sqrt, .constant(1), .field("amount"), .add, .log, .subtract])
        #expect(Self.program(c, "ratio")?.instructions == [.field("amount"), .constant(500), .min, .window(uc.window, column: uc.column), .constant(1), .max, .divide])
        // Constants folded: 2 * 3 + 1 = 7 and -(4 / 8) = -0.5.
        #expect(Self.program(c, "folded")?.instructions == [.field("amount"), .constant(7), .multiply, .constant(-0.5), .subtract])
        // risk is an earlier input (read from the vector); mix comes later (inlined, feature rule applied).
        let combined = try #require(Self.program(c, "combined")).instructions
        #expect(combined.first == .feature("risk"))
        #expect(combined.contains(.finite) && !combined.contains(.feature("mix")))
        // hidden is not an input: inlined as the engine's log1p form, then the feature rule.
        #expect(Self.program(c, "uses_hidden")?.instructions.prefix(5) == [.field("bonus"), .log1p, .constant(2), .multiply, .finite])
        // A windowed feature plus a constant is a program too (the affine window form has no shift).
        #expect(Self.program(c, "count_shift") != nil)
    }

    @Test func affineFormsStayOnTheEngineFastPaths() throws {
        let c = try Self.compile("""
            name: t
            source: {topics: [in], key: u, event_time: ts}
            schema: {ts: timestamp, u: string, x: double, label: {type: int, required: false}}
            features:
              n: {window: {tumbling: 1m}, by: u, aggregate: count}
              a: "x / 4 + 1"
              l: "log1p(x) / 5"
              w: "n * 2"
            model: {inputs: [a, l, w]}
            """)
        let w = try #require(c.windowColumns["n"])
        #expect(c.graph.features == [.field("x", scale: 0.25, shift: 1, name: "a"), .log1p("x", scale: 0.2, name: "l"),
                                     .window(w.window, column: w.column, scale: 2, name: "w")])
    }

    /// Events through the compiled graph: every input equals the tree evaluation.
    @Test func compiledFeaturesEqualTheTreeEvaluation() throws {
        let c = try Self.compile()
        var graph = try StreamGraph(c.graph)
        let spec = c.spec
        let declared = Dictionary(spec.features.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var windows: [String: (minute: Int64, sum: Double, count: Double)] = [:]
        var checked = 0
        for i in 0..<300 {
            let ts = Int64(1_700_000_000_000) + Int64(i) * 1_337
            let user = "u\(i % 7)"
            let amount = Double((i * 37) % 250) * 0.25 + (i % 5 == 0 ? 0 : 0.5)
            let age = (i * 13) % 40 - 3
            let bonus: Double? = i % 3 == 0 ? nil : Double(i % 11) * 0.5 - 1.5
            var json = #"{"ts":\#(ts),"user":"\#(user)","amount":\#(amount),"device_age_days":\#(age)"#
            if let bonus { json += #","bonus":\#(bonus)"# }
            json += "}"
            let minute = ts / 60_000
            if let w = windows[user], w.minute == minute { windows[user] = (minute, w.sum + amount, w.count + 1) } else { windows[user] = (minute, amount, 1) }
            let w = windows[user]!
            func value(_ name: String) -> Double {
                switch name {
                case "amount": return amount
                case "device_age_days": return Double(age)
                case "bonus": return bonus ?? .nan
                case "user_sum": return w.sum
                case "user_count": return w.count
                default:
                    guard case .expression(let e)? = declared[name]?.kind else { return .nan }
                    let x = e.evaluate(value)
                    return x.isFinite ? x : 0
                }
            }
            graph.clearOutputs()
            graph.process(Array(json.utf8), now: 0)
            try #require(graph.outputs.features.count == 1, "\(graph.outputs.deadLetters)")
            let v = Array(graph.outputs.features.vector(0))
            for (j, name) in c.inputNames.enumerated() {
                let want = value(name)
                #expect(v[j] == want, "event \(i) \(name): \(v[j]) vs \(want) (\(json))")
                checked += 1
            }
        }
        #expect(checked == 300 * 7)
    }

    @Test func cyclesAreLocatedErrors() throws {
        do {
            _ = try TopologyLoader.parse("""
                name: t
                source: {topics: [in], event_time: ts}
                schema: {ts: timestamp, x: double}
                features:
                  a: "b + x"
                  b: "a * 2"
                  c: "c"
                """, file: "cycle.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.diagnostics.count == 2, "\(error)")
            #expect(error.diagnostics.first?.location == SourceLocation(file: "cycle.yaml", line: 5, column: 3))
            #expect(error.diagnostics.first?.message == "feature 'a': expressions read each other in a cycle (a → b → a)")
            #expect(error.diagnostics.last?.location.line == 7)
            #expect(error.diagnostics.last?.message == "feature 'c': expressions read each other in a cycle (c → c)")
        }
        // The compiler checks too (a spec that skipped validation): located at a feature of the cycle.
        var spec = try TopologyLoader.parse("""
            name: t
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double, label: {type: int, required: false}}
            features:
              a: "b + x"
              b: "x * 2"
            model: {inputs: [a]}
            """, file: "cycle.yaml")
        spec.features[1].kind = .expression(try ExpressionParser.parse("sqrt(a)"))
        do {
            _ = try TopologyCompiler.compile(spec)
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics[0].location.line == 5 || error.diagnostics[0].location.line == 6)
            #expect(error.diagnostics[0].message.contains("cycle (a → b → a)"), "\(error)")
        }
    }

    @Test func tooDeepAnExpressionIsALocatedCompileError() throws {
        // x + (x + (... + x)): right-nested, so the program needs one stack value per level.
        func nested(_ n: Int) -> String { n == 0 ? "x" : "x + (\(nested(n - 1)))" }
        func topology(_ n: Int) -> String {
            """
            name: t
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double, label: {type: int, required: false}}
            features:
              deep: "\(nested(n))"
            model: {inputs: [deep]}
            """
        }
        let ok = try Self.compile(topology(63))
        #expect(Self.program(ok, "deep")?.stackDepth == 64)
        do {
            _ = try Self.compile(topology(64))
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics[0].location == SourceLocation(file: "expr.yaml", line: 5, column: 3))
            #expect(error.diagnostics[0].message.hasPrefix("feature 'deep': program needs a stack of 65 values (at most 64)"), "\(error)")
        }
    }

    @Test func forwardReferencesAreAllowed() throws {
        let c = try Self.compile("""
            name: t
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double, label: {type: int, required: false}}
            features:
              late_reader: "early * early"
              early: "x * x + 1"
            model: {inputs: [late_reader, early]}
            """)
        var graph = try StreamGraph(c.graph)
        graph.process(Array(#"{"ts":1700000000000,"x":3}"#.utf8), now: 0)
        #expect(Array(graph.outputs.features.vector(0)) == [100, 10])
    }

    @Test func undefinedNamesAndOneHotReadsAreLocatedErrors() throws {
        do {
            _ = try TopologyLoader.parse("""
                name: t
                source: {topics: [in], event_time: ts}
                schema: {ts: timestamp, amount: double, m: {type: category, categories: [p, q]}}
                features:
                  oh: {one_hot: m}
                  a: "amout * 2"
                  b: "oh + 1"
                """, file: "t.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.diagnostics.map(\.location.line) == [6, 7])
            #expect(error.diagnostics[0].message == "feature 'a': expression reads 'amout', which is neither a schema field nor a feature; did you mean 'amount'?")
            #expect(error.diagnostics[1].message.hasPrefix("feature 'b': expression reads 'oh', a one_hot feature"))
        }
    }

    @Test func treeEvaluationPropagatesNaNThroughMinMaxClip() throws {
        let nan = { (_: String) in Double.nan }
        #expect(try ExpressionParser.parse("min(x, 5)").evaluate(nan).isNaN)
        #expect(try ExpressionParser.parse("max(5, x)").evaluate(nan).isNaN)
        #expect(try ExpressionParser.parse("clip(1, x, 2)").evaluate(nan).isNaN)
        #expect(try ExpressionParser.parse("clip(1 / 0, 0, 2)").evaluate(nan) == 2)
        #expect(try ExpressionParser.parse("2 * (3 + 4) - log(1)").folded == .number(14))
        #expect(try ExpressionParser.parse("x + 2 * 3").folded == .binary(.add, .identifier("x"), .number(6)))
    }
}
