#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over JSON bytes used by ``RecordDecoder``. Never reads past `n`.
@usableFromInline
struct Scanner {
    @usableFromInline let p: UnsafeRawPointer
    @usableFromInline let n: Int
    @usableFromInline var i: Int = 0

    @usableFromInline init(p: UnsafeRawPointer, n: Int) { self.p = p; self.n = n }

    /// The byte at the cursor (callers check `i < n`).
    @usableFromInline var peek: UInt8 { @inline(__always) get { p.load(fromByteOffset: i, as: UInt8.self) } }

    @inline(__always)
    mutating func skipWS() {
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 32 || c == 10 || c == 13 || c == 9 { i += 1 } else { return }
        }
    }

    @usableFromInline
    mutating func literal(_ s: StaticString) throws(DecodeError) {
        let start = i
        let k = s.utf8CodeUnitCount
        guard i + k <= n else { throw .malformedJSON(offset: start, issue: .invalidValue) }
        let base = s.utf8Start
        for j in 0..<k where p.load(fromByteOffset: i + j, as: UInt8.self) != base[j] {
            throw .malformedJSON(offset: start, issue: .invalidValue)
        }
        i += k
    }
}

/// Exact powers of ten representable in `Double` (10^0 ... 10^22), for Clinger's fast path.
@usableFromInline
let weirExactPow10: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/// A scanned JSON number token (grammar checked).
@usableFromInline
struct NumberToken {
    var start: Int
    var end: Int
    var negative: Bool
    var mantissa: UInt64
    var exp10: Int
    var truncated: Bool
    var isInteger: Bool
    /// 0 = ordinary, 1 = NaN, 2 = ±Infinity literal.
    var special: UInt8
}

extension RecordDecoder {
    @usableFromInline
    func scanNumber(_ sc: inout Scanner) throws(DecodeError) -> NumberToken {
        let p = sc.p.assumingMemoryBound(to: UInt8.self)
        let n = sc.n
        let start = sc.i
        var i = start
        var t = NumberToken(start: start, end: start, negative: false, mantissa: 0, exp10: 0, truncated: false, isInteger: true, special: 0)
        if p[i] == 45 {
            t.negative = true
            i += 1
            guard i < n else { throw .malformedJSON(offset: start, issue: .invalidNumber) }
        }
        if p[i] == 73 || p[i] == 78 {  // Infinity / NaN (not JSON, but seen in the wild)
            sc.i = i
            if p[i] == 73 { try sc.literal("Infinity"); t.special = 2 } else {
                guard !t.negative else { throw .malformedJSON(offset: start, issue: .invalidNumber) }
                try sc.literal("NaN"); t.special = 1
            }
            t.end = sc.i
            return t
        }
        var d = p[i] &- 48
        guard d < 10 else { throw .malformedJSON(offset: start, issue: .invalidNumber) }
        var mant: UInt64 = 0
        var nd = 0
        var exp10 = 0
        var truncated = false
        if d == 0 {
            i += 1
        } else {
            while true {
                if nd < 19 { mant = mant &* 10 &+ UInt64(d); nd += 1 } else { exp10 += 1; truncated = truncated || d != 0 }
                i += 1
                if i == n { break }
                d = p[i] &- 48
                if d >= 10 { break }
            }
        }
        if i < n && p[i] == 46 {
            t.isInteger = false
            i += 1
            guard i < n, p[i] &- 48 < 10 else { throw .malformedJSON(offset: i, issue: .invalidNumber) }
            while i < n {
                let d = p[i] &- 48
                if d >= 10 { break }
                if nd < 19 {
                    mant = mant &* 10 &+ UInt64(d)
                    if mant != 0 { nd += 1 }
                    exp10 -= 1
                } else { truncated = truncated || d != 0 }
                i += 1
            }
        }
        if i < n && (p[i] | 0x20) == 101 {
            t.isInteger = false
            i += 1
            var eneg = false
            if i < n && (p[i] == 43 || p[i] == 45) { eneg = p[i] == 45; i += 1 }
            guard i < n, p[i] &- 48 < 10 else { throw .malformedJSON(offset: i, issue: .invalidNumber) }
            var e = 0
            while i < n {
                let d = p[i] &- 48
                if d >= 10 { break }
                if e < 100_000 { e = e * 10 + Int(d) }
                i += 1
            }
            exp10 += eneg ? -e : e
        }
        sc.i = i
        t.end = i
        t.mantissa = mant
        t.exp10 = exp10
        t.truncated = truncated
        return t
    }

    /// Converts a token to the correctly rounded `Double` (NaN/±inf for the special literals).
    @usableFromInline
    mutating func tokenValue(_ t: NumberToken, _ p: UnsafeRawPointer) -> Double {
        if t.special == 1 { return .nan }
        if t.special == 2 { return t.negative ? -.infinity : .infinity }
        if t.mantissa == 0 && !t.truncated { return t.negative ? -0.0 : 0.0 }
        if !t.truncated && t.mantissa <= (1 << 53) && t.exp10 >= -22 && t.exp10 <= 22 {
            var d = Double(t.mantissa)
            if t.exp10 < 0 { d /= weirExactPow10[-t.exp10] } else { d *= weirExactPow10[t.exp10] }
            return t.negative ? -d : d
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(start: p + t.start, count: t.end - t.start))
        scratch.append(0)
        return scratch.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { strtod($0, nil) }
        }
    }

    @usableFromInline
    mutating func parseNumber(_ sc: inout Scanner, field: Int) throws(DecodeError) -> Double {
        let t = try scanNumber(&sc)
        return tokenValue(t, sc.p)
    }

    @usableFromInline
    mutating func parseInteger(_ sc: inout Scanner, field f: Int) throws(DecodeError) -> Int64 {
        let t = try scanNumber(&sc)
        if t.special != 0 { throw .notFinite(field: f, name: schema.fields[f].name, offset: t.start) }
        guard t.isInteger else { throw .wrongType(field: f, name: schema.fields[f].name, expected: .int, offset: t.start) }
        let limit: UInt64 = t.negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        guard t.exp10 == 0, t.mantissa <= limit else {
            throw .outOfRange(field: f, name: schema.fields[f].name, value: tokenValue(t, sc.p), offset: t.start)
        }
        if t.negative { return t.mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(t.mantissa) }
        return Int64(t.mantissa)
    }

    /// Skips any JSON value (used for unknown keys and after a wrong-type value).
    @usableFromInline
    mutating func skipValue(_ sc: inout Scanner) throws(DecodeError) {
        guard sc.i < sc.n else { throw .malformedJSON(offset: sc.i, issue: .unexpectedEnd) }
        let c = sc.peek
        switch c {
        case 34: _ = try scanString(&sc)
        case 116: try sc.literal("true")
        case 102: try sc.literal("false")
        case 110: try sc.literal("null")
        case 45, 48...57, 73, 78: _ = try scanNumber(&sc)
        case 123, 91:
            let start = sc.i
            var depth = 0
            while sc.i < sc.n {
                let b = sc.peek
                if b == 34 { _ = try scanString(&sc); continue }
                if b == 123 || b == 91 {
                    depth += 1
                    if depth > maxDepth { throw .malformedJSON(offset: sc.i, issue: .nestingTooDeep) }
                } else if b == 125 || b == 93 {
                    depth -= 1
                    if depth == 0 { sc.i += 1; return }
                }
                sc.i += 1
            }
            throw .malformedJSON(offset: start, issue: .unexpectedEnd)
        default: throw .malformedJSON(offset: sc.i, issue: .invalidValue)
        }
    }
}
