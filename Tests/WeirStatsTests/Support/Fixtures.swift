import Foundation
import Testing

/// A parsed JSON value. Numbers keep their exact decimal text and are converted with
/// `Double(String)` (correctly rounded); Foundation's JSONSerialization on Linux can be off by an ulp.
indirect enum JSONValue: Sendable {
    case number(String), string(String), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    var double: Double? { if case .number(let s) = self { return Double(s) } else { return nil } }
    var int: Int? { if case .number(let s) = self { return Int(s) ?? Double(s).map { Int($0) } } else { return nil } }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    subscript(key: String) -> JSONValue? { if case .object(let o) = self { return o[key] } else { return nil } }
    var doubles: [Double] { array?.compactMap(\.double) ?? [] }
    var strings: [String] { array?.compactMap(\.string) ?? [] }
}

struct MiniJSONParser {
    let b: [UInt8]
    var i = 0
    init(_ s: Substring) { b = Array(s.utf8) }

    mutating func ws() { while i < b.count, [32, 9, 10, 13].contains(b[i]) { i += 1 } }

    mutating func parse() throws -> JSONValue {
        ws()
        guard i < b.count else { throw FixtureError.bad("end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var o = [String: JSONValue]()
            ws()
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            while true {
                ws()
                guard case .string(let k) = try parse() else { throw FixtureError.bad("key at \(i)") }
                ws(); i += 1  // ':'
                o[k] = try parse()
                ws()
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                i += 1
                return .object(o)
            }
        case UInt8(ascii: "["):
            i += 1
            var a = [JSONValue]()
            ws()
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                a.append(try parse())
                ws()
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                i += 1
                return .array(a)
            }
        case UInt8(ascii: "\""):
            i += 1
            var out = [UInt8]()
            while b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") { i += 1 }
                out.append(b[i]); i += 1
            }
            i += 1
            return .string(String(decoding: out, as: UTF8.self))
        case UInt8(ascii: "t"): i += 4; return .bool(true)
        case UInt8(ascii: "f"): i += 5; return .bool(false)
        case UInt8(ascii: "n"): i += 4; return .null
        default:
            let start = i
            while i < b.count, !([44, 93, 125, 32, 10, 13, 9] as [UInt8]).contains(b[i]) { i += 1 }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }
    }
}

enum FixtureError: Error { case bad(String) }

/// Loads a JSON-lines fixture from the test bundle's Fixtures folder.
func loadJSONL(_ name: String) throws -> [JSONValue] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures"))
    let text = try String(contentsOf: url, encoding: .utf8)
    return try text.split(separator: "\n").filter { !$0.isEmpty }.map { line in
        var p = MiniJSONParser(line)
        return try p.parse()
    }
}

/// Statistic tolerance of the vectors README: 1e-9 relative.
func statClose(_ a: Double, _ b: Double) -> Bool {
    a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
}

/// p-value tolerance of the vectors README: 1e-6 relative, or 1e-300 absolute.
func pClose(_ a: Double, _ b: Double) -> Bool {
    a == b || abs(a - b) <= 1e-300 || abs(a - b) <= 1e-6 * max(abs(a), abs(b))
}

/// Fixture files parsed once per test process.
let numericDriftCases: [JSONValue] = (try? loadJSONL("numeric_drift")) ?? []
let categoricalDriftCases: [JSONValue] = (try? loadJSONL("categorical_drift")) ?? []
let wassersteinJSCases: [JSONValue] = (try? loadJSONL("stats_wasserstein_js")) ?? []
let kstwoRows: [JSONValue] = (try? loadJSONL("stats_kstwo_sf")) ?? []
let chi2Rows: [JSONValue] = (try? loadJSONL("stats_chi2_sf")) ?? []
let detectorRuns: [JSONValue] = (try? loadJSONL("stats_detectors")) ?? []
let detectorMillionRuns: [JSONValue] = (try? loadJSONL("stats_detectors_1m")) ?? []
let generatedCategoricalCases: [JSONValue] = (try? loadJSONL("stats_categorical")) ?? []
