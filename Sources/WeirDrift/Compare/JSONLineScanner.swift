/// A small strict JSON parser for one JSONL line, used by `weir compare` to read one field.
///
/// Validates the whole line (RFC 8259 grammar) and returns the top-level object's value for a key.
/// Numbers are converted with Swift's correctly rounded `Double(String)` from their exact text
/// (Foundation's JSONSerialization on Linux can be off by an ulp for 17-digit numbers).
/// - Complexity: O(line length).
struct JSONLineScanner {
    /// A top-level field value.
    enum Value: Equatable {
        case number(Double)
        case string(String)
        case bool(Bool)
        case null
        /// An object or array.
        case composite
    }

    enum Failure: Error, Equatable {
        case invalid(String)
        case notAnObject
    }

    let b: [UInt8]
    var i = 0
    var depth = 0
    /// Deeper nesting is rejected (bounded recursion: a hostile line cannot exhaust the stack).
    static let maxDepth = 256

    init(_ line: Substring) { b = Array(line.utf8) }

    /// Parses the line; returns the value of `key` (nil when absent; the last one when repeated).
    mutating func field(_ key: String) throws(Failure) -> Value? {
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else {
            _ = try value()
            skipSpace()
            if i != b.count { throw .invalid("trailing characters at column \(i + 1)") }
            throw .notAnObject
        }
        i += 1
        var found: Value?
        skipSpace()
        if peek(UInt8(ascii: "}")) { i += 1 } else {
            while true {
                skipSpace()
                guard peek(UInt8(ascii: "\"")) else { throw .invalid("expected a key at column \(i + 1)") }
                let k = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                let v = try value()
                if k == key { found = v }
                skipSpace()
                if peek(UInt8(ascii: ",")) { i += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpace()
        if i != b.count { throw .invalid("trailing characters at column \(i + 1)") }
        return found
    }

    func peek(_ c: UInt8) -> Bool { i < b.count && b[i] == c }

    mutating func expect(_ c: UInt8) throws(Failure) {
        guard peek(c) else { throw .invalid("expected '\(Character(Unicode.Scalar(c)))' at column \(i + 1)") }
        i += 1
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    mutating func value() throws(Failure) -> Value {
        guard i < b.count else { throw .invalid("unexpected end of line") }
        switch b[i] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try composite()
            return .composite
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<(i + w.count)]) == w else {
            throw .invalid("unexpected token at column \(i + 1)")
        }
        i += w.count
    }

    mutating func composite() throws(Failure) {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw .invalid("nesting deeper than \(Self.maxDepth) at column \(i + 1)") }
        let close = b[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
        let isObject = close == UInt8(ascii: "}")
        i += 1
        skipSpace()
        if peek(close) { i += 1; return }
        while true {
            skipSpace()
            if isObject {
                guard peek(UInt8(ascii: "\"")) else { throw .invalid("expected a key at column \(i + 1)") }
                _ = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
            }
            _ = try value()
            skipSpace()
            if peek(UInt8(ascii: ",")) { i += 1; continue }
            try expect(close)
            return
        }
    }

    mutating func number() throws(Failure) -> Double {
        let start = i
        if peek(UInt8(ascii: "-")) { i += 1 }
        func digits(_ s: inout JSONLineScanner) -> Int {
            let d0 = s.i
            while s.i < s.b.count, s.b[s.i] >= 0x30, s.b[s.i] <= 0x39 { s.i += 1 }
            return s.i - d0
        }
        let intStart = i
        let n = digits(&self)
        guard n > 0, !(n > 1 && b[intStart] == 0x30) else { throw .invalid("bad number at column \(start + 1)") }
        if peek(UInt8(ascii: ".")) {
            i += 1
            guard digits(&self) > 0 else { throw .invalid("bad number at column \(start + 1)") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            i += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { i += 1 }
            guard digits(&self) > 0 else { throw .invalid("bad number at column \(start + 1)") }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard let x = Double(text) else { throw .invalid("bad number at column \(start + 1)") }
        return x   // may be ±Inf for out-of-range literals such as 1e999 (counted as non-finite)
    }

    mutating func string() throws(Failure) -> String {
        let start = i
        i += 1
        var scalars = String.UnicodeScalarView()
        var runStart = i
        func flush(_ s: inout JSONLineScanner, _ v: inout String.UnicodeScalarView, _ from: Int) {
            v.append(contentsOf: String(decoding: s.b[from..<s.i], as: UTF8.self).unicodeScalars)
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                flush(&self, &scalars, runStart)
                i += 1
                return String(scalars)
            }
            if c < 0x20 { throw .invalid("control character in string at column \(i + 1)") }
            if c == UInt8(ascii: "\\") {
                flush(&self, &scalars, runStart)
                i += 1
                guard i < b.count else { break }
                switch b[i] {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var u = try hex4()
                    if (0xD800..<0xDC00).contains(u), i + 6 < b.count, b[i + 1] == UInt8(ascii: "\\"), b[i + 2] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        if (0xDC00..<0xE000).contains(lo) { u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00) }
                    }
                    scalars.append(Unicode.Scalar(u) ?? "\u{FFFD}")
                default: throw .invalid("bad escape at column \(i + 1)")
                }
                i += 1
                runStart = i
                continue
            }
            i += 1
        }
        throw .invalid("unterminated string starting at column \(start + 1)")
    }

    /// Reads the 4 hex digits after `\u` (i is at 'u'; leaves i on the last digit).
    mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 < b.count else { throw .invalid("bad \\u escape at column \(i + 1)") }
        var v: UInt32 = 0
        for k in 1...4 {
            let c = b[i + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw .invalid("bad \\u escape at column \(i + 1)")
            }
            v = v * 16 + d
        }
        i += 4
        return v
    }
}
