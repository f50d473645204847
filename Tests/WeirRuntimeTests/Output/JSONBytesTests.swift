import Foundation
import Testing
import WeirRuntime
import WeirTestSupport

/// JSONBytes writes valid JSON (Foundation's parser reads it): numbers as Swift's shortest
/// round-trip text (checked against `Double.description` and parsed back exactly), integers
/// exactly, strings escaped, invalid UTF-8 replaced, non-finite numbers as null.
struct JSONBytesTests {
    private func parse(_ j: JSONBytes) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
    }

    @Test func doublesMatchDescriptionAndRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x9E37_79B9_7F4A_7C15)
        func next() -> UInt64 { rng.next() }
        var values: [Double] = [0.1, -0.1, 1e-300, 5e-324, 1.7976931348623157e308, 1e15, 1e15 + 0.5, 123456.789, -2.5, 0.35423]
        for _ in 0..<20_000 {
            let d = Double(bitPattern: next())
            if d.isFinite { values.append(d) }
            values.append(Double(next() >> 11) * 0x1p-53)
        }
        for v in values {
            var j = JSONBytes()
            j.begin(); j.field("v", v); j.end()
            let text = String(decoding: j.bytes, as: UTF8.self)
            if v == v.rounded(), abs(v) < 1e15 {
                #expect(text == "{\"v\":\(Int64(v))}")
            } else {
                #expect(text == "{\"v\":\(v.description)}", "\(v)")
            }
            // Valid JSON, and the number text parses back to the same Double (Swift's correctly
            // rounded parser: Foundation's JSON parser on Linux is off by an ulp at times).
            #expect(try parse(j)["v"] is NSNumber)
            #expect(Double(text.dropFirst(5).dropLast()) == v, "\(v) -> \(text)")
        }
    }

    @Test func integersAndNonFinite() throws {
        for v: Int64 in [0, 7, -7, 10, -10, 1_700_000_000_123, Int64.max, Int64.min, -1, 999_999_999_999_999_999] {
            var j = JSONBytes()
            j.begin(); j.field("v", v); j.end()
            #expect(String(decoding: j.bytes, as: UTF8.self) == "{\"v\":\(v)}")
        }
        var j = JSONBytes()
        j.begin(); j.field("a", Double.nan); j.field("b", -Double.infinity); j.field("c", -0.0); j.field("d", 3.0); j.end()
        #expect(String(decoding: j.bytes, as: UTF8.self) == #"{"a":null,"b":null,"c":0,"d":3}"#)
    }

    @Test func stringsEscapedAndInvalidUTF8Replaced() throws {
        let samples = ["u42", "", "quote\"back\\slash", "tab\tnew\nline\r", "ctl\u{01}\u{1f}", "grüße", "日本", "emoji 🎉", "/slash"]
        for s in samples {
            var j = JSONBytes()
            j.begin(); j.field("s", s); j.key("k"); j.string(s); j.end()
            let obj = try parse(j)
            #expect(obj["s"] as? String == s)
            #expect(obj["k"] as? String == s)
        }
        var j = JSONBytes()
        let bad: [UInt8] = [0x61, 0xFF, 0x62]
        j.begin(); j.key("s"); bad.withUnsafeBytes { j.string(bytes: $0) }; j.end()
        #expect(try parse(j)["s"] as? String == "a\u{FFFD}b")
    }
}
