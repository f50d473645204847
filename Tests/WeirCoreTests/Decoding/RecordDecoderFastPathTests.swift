import Testing
@testable import WeirCore
import WeirTestSupport

/// The decoder's fast path must give exactly what the general path gives: the same row (every
/// field's presence and value, string bytes) or the same error, on every record; and it must be
/// taken for plain compact records.
@Suite struct RecordDecoderFastPathTests {
    static let schema = try! Schema([
        .timestamp("ts"), .string("user"), .double("amount", min: 0, max: 1_000_000),
        .category("merchant", allowed: ["grocery", "fuel", "travel"]), .int("age", min: -5, max: 1e15),
        .bool("flag", required: false), .int("label", required: false, min: 0, max: 1), .category("country", required: false),
        .double("x", required: false), .string("a_rather_long_field_name", required: false),
    ])

    /// Value texts per field: plain ones (fast path) and every kind the fast path must refuse.
    static let values: [[String]] = [
        ["1700000000000", "0", "-5", "-0", "123456789012345", "1234567890123456", "99999999999999999999", "007", "1.5", "1e3",
         "\"2023-11-14T22:13:20.123Z\"", "null", "-", "NaN", "\"x\""],
        ["\"u42\"", "\"\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"tab\there\"", "42", "null", "\"long string of more than sixteen bytes\""],
        ["12.5", "0", "0.0", "-0.0", "0.000123", "49.82", "1000000", "1000000.01", "-1", "00.5", ".5", "1.", "1e2", "1E-2",
         "123456789012345678", "1234567890123456789", "9007199254740993", "0.1234567890123456789", "NaN", "Infinity", "\"1\"", "null"],
        ["\"fuel\"", "\"grocery\"", "\"travel\"", "\"bike\"", "\"fu\\u0065l\"", "1", "null"],
        ["300", "0", "-5", "-6", "1000000000000000", "1000000000000001", "2.0", "\"3\"", "true"],
        ["true", "false", "tru", "falsey", "1", "null"],
        ["0", "1", "2", "-0", "1.0", "null"],
        ["\"NL\"", "\"DE\"", "\"\"", "null", "7"],
        ["1.5", "-2.25", "123456.789", "1e5", "null"],
        ["\"v\"", "\"w\\n\"", "null"],
    ]

    static func record(_ g: inout SeededGenerator, order: [Int]) -> String {
        var parts: [String] = []
        for f in order {
            let vs = values[f]
            // mostly plain values (first few), sometimes any
            let v = Int.random(in: 0..<10, using: &g) < 8 ? vs[Int.random(in: 0..<min(3, vs.count), using: &g)] : vs.randomElement(using: &g)!
            parts.append("\"\(schema.fields[f].name)\":\(v)")
        }
        var s = "{" + parts.joined(separator: ",") + "}"
        switch Int.random(in: 0..<40, using: &g) {
        case 0: s = s.replacingOccurrences(of: ",", with: ", ")
        case 1: s += " \n"
        case 2: s += "x"
        case 3: s = String(s.dropLast())
        case 4: s = s.replacingOccurrences(of: "{", with: "{\"extra\":[1,{\"y\":2}],")
        case 5: s = s.replacingOccurrences(of: "\"user\"", with: "\"us\\u0065r\"")
        case 6: s = String(s.prefix(Int.random(in: 0...s.count, using: &g)))
        default: break
        }
        return s
    }

    struct Row: Equatable { var present: [Bool]; var raw: [Int64]; var strings: [String?] }

    static func decode(_ s: String, _ d: inout RecordDecoder, _ b: inout RecordBatch) -> Result<Row, DecodeError> {
        b.removeAll()
        do {
            let r = try d.decode(Array(s.utf8), into: &b)
            let fields = schema.fields.indices
            return .success(Row(present: fields.map { b.isPresent(r, $0) },
                                raw: fields.map { b.isPresent(r, $0) && schema.fields[$0].type != .string ? b.raw(r, $0) : 0 },
                                strings: fields.map { b.isPresent(r, $0) && schema.fields[$0].type == .string ? b.string(r, $0) : nil }))
        } catch { return .failure(error) }
    }

    @Test(arguments: [1, 2, 3])
    func fastPathEqualsGeneralPath(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var fast = RecordDecoder(schema: Self.schema)
        var general = RecordDecoder(schema: Self.schema)
        general.fastPathEnabled = false
        var bf = RecordBatch(fieldCount: Self.schema.count), bg = RecordBatch(fieldCount: Self.schema.count)
        var ok = 0, failed = 0
        var order = Array(0..<Self.schema.count)
        for i in 0..<6000 {
            if i % 50 == 0 {  // a new key order (and sometimes fewer keys) now and then
                order = Array(0..<Self.schema.count).shuffled(using: &g)
                // a name too long for the fast path's key words: only in some orders
                if Int.random(in: 0..<4, using: &g) > 0 { order.removeAll { $0 == 9 } }
                if Bool.random(using: &g) { order = Array(order.prefix(Int.random(in: 4...order.count, using: &g))) }
                if i % 150 == 0 { order += [order[0]] }  // a duplicate key: the last one wins
            }
            let s = Self.record(&g, order: order)
            let a = Self.decode(s, &fast, &bf), b = Self.decode(s, &general, &bg)
            #expect(a == b, "\(s)")
            if case .success = a { ok += 1 } else { failed += 1 }
        }
        #expect(ok > 500 && failed > 500, "both outcomes exercised (\(ok) ok, \(failed) failed)")
        #expect(fast.fastPathRecords > ok / 4, "the fast path decoded most good records (\(fast.fastPathRecords) of \(ok))")
        #expect(general.fastPathRecords == 0)
    }
}
