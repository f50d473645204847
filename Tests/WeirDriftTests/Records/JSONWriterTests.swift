import Foundation
import Testing
@testable import WeirDrift

@Suite struct JSONWriterTests {
    @Test func escapesStringsAndNeverWritesNonFiniteNumbers() throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("s", "a\"b\\c\nd\te\u{01}é✓")
        w.field("nan", Double.nan)
        w.field("inf", -Double.infinity)
        w.field("zero", -0.0)
        w.field("small", 1e-5)
        w.field("big", 1e300)
        w.field("tenth", 0.1)
        w.field("none", nil as Int?)
        w.field("xs", ints: [1, -2])
        w.field("ss", strings: [])
        w.beginObject("o"); w.field("b", true); w.endObject()
        w.endObject()
        let text = w.text
        #expect(text == #"{"s":"a\"b\\c\nd\te\u0001é✓","nan":null,"inf":null,"zero":0.0,"small":1e-05,"big":1e+300,"tenth":0.1,"none":null,"xs":[1,-2],"ss":[],"o":{"b":true}}"#)
        let parsed = try parseJSON(text)
        #expect(parsed["s"] as? String == "a\"b\\c\nd\te\u{01}é✓")
        #expect(parsed["tenth"] as? Double == 0.1 && parsed["small"] as? Double == 1e-5 && parsed["big"] as? Double == 1e300)
    }

    @Test func doublesRoundTripBitExactly() throws {
        for x in [Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.0 / 3, 2.0.squareRoot(), 123456789.125, 5e-324, 0.30000000000000004] {
            var w = JSONWriter()
            w.beginObject(); w.field("x", x); w.endObject()
            // Swift's correctly rounded parser via the scanner (Foundation's Linux parser is off by an ulp
            // for some 17-digit numbers)
            var sc = JSONLineScanner(Substring(w.text))
            #expect(try sc.field("x") == .number(x), "\(w.text)")
        }
    }

    @Test func lineScannerValidatesAndExtracts() throws {
        func get(_ line: String, _ k: String = "a") throws -> JSONLineScanner.Value? {
            var s = JSONLineScanner(Substring(line))
            return try s.field(k)
        }
        #expect(try get(#"{"b":[1,{"c":"}"}],"a":-1.5e-3}"#) == .number(-1.5e-3))
        #expect(try get(#"{"a":"x\"y\u00e9\ud83d\ude00"}"#) == .string("x\"yé😀"))
        #expect(try get(#"{"a":null}"#) == .null && get(#"{"a":true}"#) == .bool(true) && get("{}") == nil)
        #expect(try get(#" {"a" : [ ] } "#) == .composite)
        for bad in [#"{"a":01}"#, #"{"a":1.}"#, #"{"a":}"#, #"{"a":1"#, #"{"a":1}x"#, #"{a:1}"#, #"{"a":tru}"#, "{\"a\":\"\u{01}\"}"] {
            #expect(throws: JSONLineScanner.Failure.self, "\(bad)") { try get(bad) }
        }
        #expect(throws: JSONLineScanner.Failure.notAnObject) { try get("[1,2]") }
        // hostile nesting is an error, not a stack overflow
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: JSONLineScanner.Failure.self) { try get(deep) }
        let ok = "{\"a\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(try get(ok) == .composite)
    }

    @Test func contractPolicyMatchesTheContractRule() {
        let p = DriftPolicy.contract
        func v(_ psi: Double, _ pv: Double) -> DriftPolicy.Verdict {
            p.evaluate(syntheticRecord("f", window: 0, psi: psi, ks: 0.01, p: pv).statistics, nCurrent: 1)
        }
        #expect(v(0.2, 0.5) == .clear && v(0.2.nextUp, 0.5).isDrifted && v(0.01, 0.0099).isDrifted && v(0.01, 0.01) == .clear)
        // run semantics: an alert when a run reaches 2, once per run, a non-drifted window ends the run
        var gate = DriftGate(config: GateConfig(defaultPolicy: p, retrainCooldownWindows: 0))
        let psis = [0.3, 0.3, 0.3, 0.1, 0.3, 0.1, 0.3, 0.3]
        var openedAt: [Int] = []
        for (w, x) in psis.enumerated() {
            openedAt += gate.observe([syntheticRecord("f", window: w, psi: x)]).alerts.filter { $0.status == .opened }.map(\.window)
        }
        #expect(openedAt == [1, 7])
    }
}
