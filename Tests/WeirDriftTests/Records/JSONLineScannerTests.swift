import Foundation
import Testing
@testable import WeirDrift

/// The drift records' line scanner and contract policy (the writer itself: Tests/WeirJSONTests).
@Suite struct JSONLineScannerTests {
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
