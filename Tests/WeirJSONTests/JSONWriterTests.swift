import Foundation
import Testing
import WeirJSON
import WeirTestSupport

/// The one JSON writer: exact text for the documented rules, and a property test that parses
/// thousands of random outputs with Python's json module (an independent parser).
@Suite struct JSONWriterTests {
    private func text(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        body(&w)
        return w.string
    }

    @Test func numbersFollowOneRule() {
        #expect(text { w in
            w.beginArray()
            for v in [3.0, -0.0, 0.0, -7.0, 0.1, 1e-5, 1e300, 0x1p53 - 1, 0x1p53, 1e16, 5e-324, .nan, .infinity, -.infinity] { w.value(v) }
            w.endArray()
        } == "[3,0,0,-7,0.1,1e-05,1e+300,9007199254740991,9007199254740992.0,1e+16,5e-324,null,null,null]")
        #expect(text { w in
            w.beginArray()
            for v: Int64 in [0, 7, -7, 10, Int64.max, Int64.min] { w.value(v) }
            w.value(UInt64.max); w.value(nil as Int?); w.value(true); w.value(false)
            w.endArray()
        } == "[0,7,-7,10,9223372036854775807,-9223372036854775808,18446744073709551615,null,true,false]")
    }

    @Test func stringsFollowOneRule() {
        #expect(text { w in
            w.beginObject()
            w.field("s", "a\"b\\c\nd\te\r\u{08}\u{0C}\u{01}\u{1F}\u{7F}é✓🎉\u{2028}\u{2029}/")
            w.beginObject("o"); w.field("b", true); w.nullField("n"); w.endObject()
            w.field("xs", ints: [1, -2]); w.field("ss", strings: []); w.field("ds", doubles: [0.5, .nan])
            w.endObject()
        } == #"{"s":"a\"b\\c\nd\te\r\b\f\u0001\u001f"# + "\u{7F}é✓🎉" + #"\u2028\u2029/","o":{"b":true,"n":null},"xs":[1,-2],"ss":[],"ds":[0.5,null]}"#)
        // literal keys (the StaticString overloads) and String keys are escaped alike
        let k = "q\"é\n"
        #expect(text { w in w.beginObject(); w.field("q\"é\n", 1); w.field(k, 2); w.endObject() } == #"{"q\"é\n":1,"q\"é\n":2}"#)
        // invalid UTF-8: one U+FFFD per maximal invalid subsequence
        let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x8E]
        #expect(text { w in bad.withUnsafeBytes { w.value(utf8: $0) } } == "\"a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"")
    }

    @Test func resetKeepsCapacityAndStartsOver() {
        var w = JSONWriter(capacity: 64)
        w.beginObject(); w.field("a", 1); w.endObject()
        w.reset()
        w.beginObject(); w.field("b", 2); w.endObject()
        #expect(w.string == #"{"b":2}"#)
        #expect(w.bytes.capacity >= 64)
    }

    /// Random strings (all of Unicode: controls, U+2028/9, every plane), random bytes as event keys
    /// (invalid UTF-8 included) and random doubles (bit patterns: subnormals, NaN, ±inf; ±0, huge,
    /// whole numbers around 2^53) through the writer; Python's json module parses every line.
    @Test(.requires(ExternalTool.python(importing: ["json"]))) func pythonParsesEveryOutput() throws {
        var rng = SeededGenerator(seed: 0x1905_2026)
        func below(_ n: Int) -> Int { Int(rng.next(below: UInt64(n))) }
        func scalar() -> Unicode.Scalar {
            while true {
                let v: UInt32
                switch below(8) {
                case 0: v = UInt32(below(0x20))                        // control characters
                case 1: v = [0x22, 0x5C, 0x2F, 0x7F, 0x2028, 0x2029, 0xFFFD, 0xFEFF, 0xFFFF][below(9)]
                case 2: v = UInt32(0x20 + below(0x60))                 // printable ASCII
                case 3: v = UInt32(0x80 + below(0x800 - 0x80))         // two bytes
                case 4, 5: v = UInt32(0x800 + below(0x10000 - 0x800))  // BMP (surrogates skipped below)
                default: v = UInt32(0x10000 + below(0x110000 - 0x10000))
                }
                if let s = Unicode.Scalar(v) { return s }
            }
        }
        func randomString() -> String {
            var s = String.UnicodeScalarView()
            for _ in 0..<below(24) { s.append(scalar()) }
            return String(s)
        }
        func randomKeyBytes() -> [UInt8] {
            var b = Array(randomString().utf8)
            switch below(4) {
            case 0: b = (0..<below(16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // any bytes
            case 1 where !b.isEmpty: b.removeLast(1 + below(min(3, b.count)))               // truncated sequence
            case 2: b.insert([0xC0, 0xC1, 0xF5, 0xFF, 0x80, 0xBF, 0xED, 0xF4][below(8)], at: below(b.count + 1))
            case 3: b += [[0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE0, 0x80, 0xAF], [0xF0, 0x8F, 0xBF]][below(4)]
            default: break
            }
            return b
        }
        let specials: [Double] = [0, -0.0, 1, -1, 0.1, 1e-5, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                  .leastNormalMagnitude, .leastNormalMagnitude.nextDown, .greatestFiniteMagnitude,
                                  -.greatestFiniteMagnitude, 0x1p53, 0x1p53 - 1, -0x1p53, 0x1p53 + 2, 1e15, 1e16, 1e21, 1e22,
                                  .nan, -.nan, .signalingNaN, .infinity, -.infinity, 9.5, -0.5]
        func randomDouble() -> Double {
            switch below(6) {
            case 0: return specials[below(specials.count)]
            case 1: return Double(bitPattern: rng.next())                                   // any bits
            case 2: return Double(bitPattern: rng.next() & 0x800F_FFFF_FFFF_FFFF)           // subnormal
            case 3: return Double(Int64(bitPattern: rng.next()) >> Int64(below(63)))        // whole
            case 4: return rng.nextUnit() * pow(10, Double(below(40) - 20))
            default: return rng.nextGaussian()
            }
        }
        func hex(_ b: some Sequence<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined() }

        var lines = Data()
        var w = JSONWriter()
        let cases = 20_000
        for _ in 0..<cases {
            let key = randomKeyBytes(), s = randomString()
            let doubles = (0..<(1 + below(6))).map { _ in randomDouble() }
            w.reset()
            w.beginArray()
            key.withUnsafeBytes { w.value(utf8: $0) }
            w.value(s)
            w.beginObject(); w.key(s); w.value(0); w.endObject()
            w.beginArray(); for d in doubles { w.value(d) }; w.endArray()
            w.endArray()
            let numbers = doubles.map { String(format: "%016llx", $0.bitPattern) }.joined(separator: ",")
            lines.append(contentsOf: Array((hex(key) + "\t" + hex(s.utf8) + "\t" + numbers + "\t").utf8) + w.bytes + [0x0A])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("weirjson-\(getpid()).txt")
        try lines.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, out) = try runPythonCheck("scripts/checks/check_json_writer.py", importing: ["json"], arguments: [file.path])
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("\(cases) cases, 0 failures"), "\(out)")
    }
}
