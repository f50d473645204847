import Foundation
import Testing
import WeirCore
import WeirTestSupport

@Suite struct RecordDecoderTests {
    let schema: Schema

    init() throws {
        schema = try Schema([
            .timestamp("ts"), .string("user"), .double("amount", min: 0, max: 1_000_000),
            .category("merchant", allowed: ["grocery", "fuel", "travel"]),
            .int("age", min: 0), .bool("flag", required: false), .int("label", required: false, min: 0, max: 1),
            .category("country", required: false),
        ])
    }

    private func decode(_ s: String, _ d: inout RecordDecoder, _ b: inout RecordBatch) -> Result<Int, DecodeError> {
        do { return .success(try d.decode(Array(s.utf8), into: &b)) } catch { return .failure(error) }
    }

    private func error(_ s: String) -> DecodeError? {
        var d = RecordDecoder(schema: schema)
        var b = RecordBatch(fieldCount: schema.count)
        if case .failure(let e) = decode(s, &d, &b) {
            #expect(b.count == 0, "failed decode leaves the batch unchanged")
            return e
        }
        return nil
    }

    let good = #"{"ts":1700000000000,"user":"u42","amount":12.5,"merchant":"fuel","age":300,"label":1}"#

    @Test func decodesAllTypes() throws {
        var d = RecordDecoder(schema: schema)
        var b = RecordBatch(fieldCount: schema.count)
        let r = try d.decode(Array(#" { "ts" : "2023-11-14T22:13:20.123Z", "user":"a\"b\u00e9\ud83d\ude00", "amount": 1.5e2, "merchant":"travel", "age":-0, "flag":true, "extra":{"x":[1,2,{"y":"}"}]}, "label":null, "country":"NL" } "#.utf8), into: &b, partition: 3, offset: 99)
        #expect(b.int(r, 0) == 1_700_000_000_123)
        #expect(b.string(r, 1) == "a\"bé😀")
        #expect(b.double(r, 2) == 150)
        #expect(d.categoryName(field: 3, id: b.category(r, 3)) == "travel")
        #expect(b.category(r, 3) == 2, "closed categories are ids in declaration order")
        #expect(b.int(r, 4) == 0)
        #expect(b.bool(r, 5) == true)
        #expect(!b.isPresent(r, 6), "null optional field is absent")
        #expect(d.categoryName(field: 7, id: b.category(r, 7)) == "NL")
        #expect(b.partition(r) == 3 && b.offset(r) == 99)
    }

    @Test func numbersAreCorrectlyRounded() throws {
        var g = SeededGenerator(seed: 7)
        let s = try Schema([.double("x")])
        var d = RecordDecoder(schema: s)
        var b = RecordBatch(fieldCount: 1)
        var texts = ["0", "-0.0", "1e-300", "2.2250738585072014e-308", "1.7976931348623157e308", "123456789012345678901234567890",
                     "0.1", "3.14159265358979323846264338327950288", "9007199254740993", "1E22", "1e23", "-4.9e-324"]
        for _ in 0..<2000 {
            let v = Double(bitPattern: g.next() & 0x7FEF_FFFF_FFFF_FFFF)
            texts.append("\(v)")
            texts.append(String(format: "%.\(Int.random(in: 0...6, using: &g))f", Double(Int.random(in: 0...10_000_000, using: &g)) / 100))
        }
        for t in texts {
            b.removeAll()
            let r = try d.decode(Array("{\"x\":\(t)}".utf8), into: &b)
            #expect(b.double(r, 0).bitPattern == Double(t)!.bitPattern, "\(t)")
        }
    }

    @Test func isoTimestamps() throws {
        let s = try Schema([.timestamp("t")])
        var d = RecordDecoder(schema: s)
        var b = RecordBatch(fieldCount: 1)
        let cases: [(String, Int64)] = [
            ("\"1970-01-01T00:00:00Z\"", 0), ("\"2000-02-29T12:00:00.5+01:00\"", 951_822_000_500),
            ("\"1969-12-31 23:59:59.999\"", -1), ("\"2024-12-31T23:59:59-0530\"", 1_735_709_399_000), ("1700000000000.9", 1_700_000_000_000),
        ]
        for (text, want) in cases {
            b.removeAll()
            let r = try d.decode(Array("{\"t\":\(text)}".utf8), into: &b)
            #expect(b.int(r, 0) == want, "\(text)")
        }
        for bad in ["\"2023-02-29T00:00:00Z\"", "\"2023-13-01T00:00:00Z\"", "\"2023-01-01\"", "\"2023-01-01T24:00:00Z\"", "\"2023-01-01T00:00:00Q\""] {
            b.removeAll()
            #expect(throws: DecodeError.invalidTimestamp(field: 0, name: "t", offset: 5)) { _ = try d.decode(Array("{\"t\":\(bad)}".utf8), into: &b) }
        }
    }

    @Test func everyErrorClassIsSpecific() {
        #expect(error(#"{"ts":1,"amount":1,"merchant":"fuel","age":1}"#) == .missingRequiredField(field: 1, name: "user"))
        #expect(error(#"{"ts":1,"user":"u","amount":null,"merchant":"fuel","age":1}"#) == .missingRequiredField(field: 2, name: "amount"))
        #expect(error(#"{"ts":1,"user":"u","amount":"12","merchant":"fuel","age":1}"#) == .wrongType(field: 2, name: "amount", expected: .double, offset: 28))
        #expect(error(#"{"ts":1,"user":7,"amount":1,"merchant":"fuel","age":1}"#) == .wrongType(field: 1, name: "user", expected: .string, offset: 15))
        #expect(error(#"{"ts":1,"user":"u","amount":1,"merchant":"fuel","age":1.5}"#) == .wrongType(field: 4, name: "age", expected: .int, offset: 54))
        #expect(error(#"{"ts":1,"user":"u","amount":1,"merchant":"fuel","age":1,"flag":1}"#) == .wrongType(field: 5, name: "flag", expected: .bool, offset: 63))
        #expect(error(#"{"ts":1,"user":"u","amount":-3,"merchant":"fuel","age":1}"#) == .outOfRange(field: 2, name: "amount", value: -3, offset: 28))
        #expect(error(#"{"ts":1,"user":"u","amount":1,"merchant":"fuel","age":1,"label":2}"#) == .outOfRange(field: 6, name: "label", value: 2, offset: 64))
        #expect(error(#"{"ts":1,"user":"u","amount":NaN,"merchant":"fuel","age":1}"#) == .notFinite(field: 2, name: "amount", offset: 28))
        #expect(error(#"{"ts":1,"user":"u","amount":-Infinity,"merchant":"fuel","age":1}"#) == .notFinite(field: 2, name: "amount", offset: 28))
        #expect(error(#"{"ts":1,"user":"u","amount":1e999,"merchant":"fuel","age":1}"#) == .notFinite(field: 2, name: "amount", offset: 28))
        #expect(error(#"{"ts":1,"user":"u","amount":1,"merchant":"boats","age":1}"#) == .unknownCategory(field: 3, name: "merchant", offset: 41))
        #expect(error(#"{"ts":1,"user":"u","amount":1,"merchant":"fuel","age":99999999999999999999}"#) == .outOfRange(field: 4, name: "age", value: 1e20, offset: 54))
    }

    @Test func malformedJSONNamesTheBytePosition() {
        #expect(error("") == .malformedJSON(offset: 0, issue: .emptyInput))
        #expect(error("   ") == .malformedJSON(offset: 3, issue: .emptyInput))
        #expect(error("[1]") == .malformedJSON(offset: 0, issue: .expectedObject))
        #expect(error(#"{"ts":1,"user":"u""#) == .malformedJSON(offset: 18, issue: .unexpectedEnd))
        #expect(error(#"{"ts" 1}"#) == .malformedJSON(offset: 6, issue: .expectedColon))
        #expect(error(#"{"ts":1 "user":"u"}"#) == .malformedJSON(offset: 8, issue: .expectedCommaOrEnd))
        #expect(error(#"{ts:1}"#) == .malformedJSON(offset: 1, issue: .expectedKey))
        #expect(error(#"{"ts":01}"#) == .malformedJSON(offset: 7, issue: .expectedCommaOrEnd))
        #expect(error(#"{"ts":1.}"#) == .malformedJSON(offset: 8, issue: .invalidNumber))
        #expect(error(#"{"ts":1,"user":"a\qb"}"#) == .malformedJSON(offset: 17, issue: .invalidEscape))
        #expect(error("{\"ts\":1,\"user\":\"a\u{01}\"}") == .malformedJSON(offset: 17, issue: .controlCharacterInString))
        #expect(error(#"{"ts":1,"user":"abc"#) == .malformedJSON(offset: 15, issue: .invalidString))
        #expect(error(#"{"ts":1,"x":tru}"#) == .malformedJSON(offset: 12, issue: .invalidValue))
        #expect(error(good + " x") == .malformedJSON(offset: good.utf8.count + 1, issue: .trailingCharacters))
        #expect(error(#"{"ts":1,"x":[[[["#) == .malformedJSON(offset: 12, issue: .unexpectedEnd))
    }

    @Test func goodRecordsAroundBadOnesAreUnaffected() throws {
        var d = RecordDecoder(schema: schema)
        var b = RecordBatch(fieldCount: schema.count)
        let lines = [good,
                     #"{"ts":1,"user":"bad","amount":-1,"merchant":"fuel","age":1}"#,
                     #"{"ts":2,"user":"u43","amount":7.25,"merchant":"grocery","age":5,"unknown":[1,"x"],"country":"DE"}"#,
                     #"{"ts":3,"user":"esc\n","amount":1,"merchant":"nope","age":1}"#,
                     "{\"ts\":4,",
                     #"{"ts":5,"user":"u44","amount":0,"merchant":"travel","age":0,"flag":false}"#]
        var errors: [DecodeError] = []
        for (i, l) in lines.enumerated() {
            do { _ = try d.decode(Array(l.utf8), into: &b, partition: 1, offset: Int64(i)) } catch { errors.append(error) }
        }
        #expect(errors.map(\.reason) == ["out_of_range", "unknown_category", "malformed_json"])
        #expect(b.count == 3)
        #expect(b.offsets == [0, 2, 5])
        #expect((0..<3).map { b.string($0, 1) } == ["u42", "u43", "u44"])
        #expect((0..<3).map { b.double($0, 2) } == [12.5, 7.25, 0])
        #expect((0..<3).map { d.categoryName(field: 3, id: b.category($0, 3))! } == ["fuel", "grocery", "travel"])
        #expect(b.isPresent(1, 7) && !b.isPresent(0, 7) && b.isPresent(2, 5) && !b.bool(2, 5))
    }

    @Test func openCategoriesInternUpToTheLimit() throws {
        let s = try Schema([.category("c", maxCategories: 2)])
        var d = RecordDecoder(schema: s)
        var b = RecordBatch(fieldCount: 1)
        let a = try d.decode(Array(#"{"c":"x"}"#.utf8), into: &b)
        let c = try d.decode(Array(#"{"c":"y"}"#.utf8), into: &b)
        let e = try d.decode(Array(#"{"c":"x"}"#.utf8), into: &b)
        #expect(b.category(a, 0) == 0 && b.category(c, 0) == 1 && b.category(e, 0) == 0)
        #expect(throws: DecodeError.unknownCategory(field: 0, name: "c", offset: 5)) { _ = try d.decode(Array(#"{"c":"z"}"#.utf8), into: &b) }
    }

    @Test func keyOrderChangesAndEscapedKeysStillResolve() throws {
        let s = try Schema([.int("a"), .int("b")])
        var d = RecordDecoder(schema: s)
        var b = RecordBatch(fieldCount: 2)
        for text in [#"{"a":1,"b":2}"#, #"{"b":2,"a":1}"#, #"{"\u0061":1,"b":2}"#, #"{"c":0,"a":1,"b":2}"#, #"{"aa":5,"a":1,"b":2}"#] {
            b.removeAll()
            let r = try d.decode(Array(text.utf8), into: &b)
            #expect(b.int(r, 0) == 1 && b.int(r, 1) == 2, "\(text)")
        }
    }

    @Test func schemaRejectsInvalidDeclarations() {
        #expect(throws: SchemaError.duplicateField(name: "a")) { _ = try Schema([.int("a"), .double("a")]) }
        #expect(throws: SchemaError.emptySchema) { _ = try Schema([]) }
        #expect(throws: SchemaError.invalidBounds(field: "a", detail: "min 2.0 > max 1.0")) { _ = try Schema([.int("a", min: 2, max: 1)]) }
        #expect(throws: SchemaError.duplicateCategory(field: "c", value: "x")) { _ = try Schema([.category("c", allowed: ["x", "x"])]) }
    }
}
