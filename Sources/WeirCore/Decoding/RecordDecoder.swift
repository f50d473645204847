#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes one JSON object per call, straight into a row of a ``RecordBatch``.
///
/// A hand-written scanner (no Foundation): keys are matched against the schema's name table by
/// hashing their bytes in place; values are parsed according to the field's declared type;
/// categories are interned per field to `Int32` ids; strings are copied into the batch's byte
/// arena. Unknown keys are skipped (nested unknown values are skipped by bracket matching).
/// Duplicate keys: the last one wins. After the object only whitespace may follow.
///
/// Numbers use an exact fast path (≤ 19 significant digits, |exponent| ≤ 22, Clinger) and
/// `strtod` otherwise, so every decoded `Double` is correctly rounded.
///
/// Invariant: on error the batch is unchanged (the partial row is rolled back).
/// - Complexity: O(bytes); allocation-free in steady state (new open-category values and arena
///   growth allocate, amortised).
public struct RecordDecoder: Sendable {
    /// The schema decoded against.
    public let schema: Schema
    /// Per-field category interners (empty for non-category fields). Part of snapshots.
    public internal(set) var categories: [ByteInterner]
    /// Per-field decoding facts, in one POD record per field.
    @usableFromInline struct FieldInfo: Sendable {
        var type: FieldType
        var required: Bool
        var hasBounds: Bool
        var closed: Bool
        var lo: Double
        var hi: Double
        var maxCategories: Int
    }
    @usableFromInline let info: ContiguousArray<FieldInfo>
    @usableFromInline let types: ContiguousArray<FieldType>
    @usableFromInline let required: ContiguousArray<Bool>
    @usableFromInline var scratch: ContiguousArray<UInt8>
    /// Field names as bytes, for the key-order prediction fast path.
    let nameBytes: ContiguousArray<UInt8>
    let nameStart: ContiguousArray<Int>
    /// Keys as words for the fast path (``decodeFast(_:_:_:_:)``).
    let fastKeys: ContiguousArray<FastKey>
    /// False: every record takes the general path (tests compare the two).
    var fastPathEnabled = true
    /// Records decoded by the fast path (lifetime count).
    var fastPathRecords = 0
    /// The field index seen at each key position of the previous record (−1: none); a key is
    /// first compared with the prediction, and hashed only on a miss.
    var predicted: ContiguousArray<Int32>
    /// Maximum nesting depth accepted inside skipped unknown values.
    public var maxDepth: Int = 64

    public init(schema: Schema) {
        self.schema = schema
        var cats: [ByteInterner] = []
        for f in schema.fields {
            var it = ByteInterner(capacity: f.categories?.count ?? 16)
            if f.type == .category, let allowed = f.categories { for c in allowed { it.intern(Array(c.utf8)) } }
            cats.append(it)
        }
        categories = cats
        types = ContiguousArray(schema.fields.map(\.type))
        required = ContiguousArray(schema.fields.map(\.required))
        info = ContiguousArray(schema.fields.map {
            FieldInfo(type: $0.type, required: $0.required, hasBounds: $0.min != nil || $0.max != nil, closed: $0.categories != nil,
                      lo: $0.min ?? -Double.infinity, hi: $0.max ?? Double.infinity, maxCategories: $0.maxCategories)
        })
        scratch = []
        scratch.reserveCapacity(256)
        var nb = ContiguousArray<UInt8>(), ns = ContiguousArray<Int>()
        for f in schema.fields { ns.append(nb.count); nb.append(contentsOf: f.name.utf8) }
        ns.append(nb.count)
        nameBytes = nb
        nameStart = ns
        fastKeys = Self.fastKeys(schema)
        predicted = ContiguousArray(repeating: -1, count: 64)
    }

    @inline(__always)
    mutating func resolveKey(_ kp: UnsafeRawPointer, _ kn: Int, position j: Int) -> Int? {
        if j < predicted.count {
            let f = Int(predicted[j])
            if f >= 0 && nameStart[f + 1] - nameStart[f] == kn {
                let eq = nameBytes.withUnsafeBytes { memcmpBytes($0.baseAddress! + nameStart[f], kp, kn) }
                if eq { return f }
            }
        }
        let f = schema.fieldIndex(kp, kn)
        // names with quotes, backslashes or control bytes are never predicted (raw compare unsafe)
        if j < predicted.count {
            var plain = f != nil
            if let f { for b in nameBytes[nameStart[f]..<nameStart[f + 1]] where b == 34 || b == 92 || b < 0x20 { plain = false } }
            predicted[j] = plain ? Int32(f!) : -1
        }
        return f
    }

    /// The string of a category id of field `field` (allocates; not for hot paths).
    public func categoryName(field: Int, id: Int32) -> String? {
        categories[field].isLive(id) ? categories[field].string(of: id) : nil
    }

    /// The id of a category value of field `field`, if interned.
    public func categoryID(field: Int, value: String) -> Int32? { categories[field].lookup(Array(value.utf8)) }

    /// The id of category `value` of field `field`, interning it if the field takes any category
    /// (as decoding it would); nil for a field with a declared list that lacks it, or a field that
    /// is not a category. For setup (e.g. mapping a saved reference's names), not for hot paths.
    public mutating func internCategory(field: Int, value: String) -> Int32? {
        guard field >= 0, field < schema.fields.count, schema.fields[field].type == .category else { return nil }
        if let id = categoryID(field: field, value: value) { return id }
        if schema.fields[field].categories != nil { return nil }
        return categories[field].intern(Array(value.utf8))
    }

    /// Decodes `bytes` into a new row of `batch`.
    /// - Returns: the row index.
    /// - Throws: ``DecodeError``; the batch is then unchanged.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, into batch: inout RecordBatch,
                                partition: Int32 = 0, offset: Int64 = 0) throws(DecodeError) -> Int {
        let mark = batch.strings.count
        let row = batch.appendRow(partition: partition, offset: offset)
        do {
            try decodeObject(bytes, row: row, batch: &batch)
        } catch {
            batch.dropLastRow(stringMark: mark)
            throw error
        }
        return row
    }

    /// Decodes a byte array (convenience over ``decode(_:into:partition:offset:)``).
    public mutating func decode(_ bytes: [UInt8], into batch: inout RecordBatch,
                                partition: Int32 = 0, offset: Int64 = 0) throws(DecodeError) -> Int {
        do {
            return try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(DecodeError) -> Int in
                try decode(b, into: &batch, partition: partition, offset: offset)
            }
        } catch let e as DecodeError { throw e } catch { fatalError("unreachable") }
    }

    @usableFromInline
    mutating func decodeObject(_ bytes: UnsafeRawBufferPointer, row: Int, batch: inout RecordBatch) throws(DecodeError) {
        let base = row * batch.fieldCount
        let err: DecodeError? = batch.slots.withUnsafeMutableBufferPointer { (sp) -> DecodeError? in
            batch.present.withUnsafeMutableBufferPointer { (pp) -> DecodeError? in
                let w = RowWriter(slots: sp.baseAddress! + base, present: pp.baseAddress! + base)
                let mark = batch.strings.count
                if fastPathEnabled, let p = bytes.baseAddress, decodeFast(p, bytes.count, w, &batch.strings) {
                    fastPathRecords &+= 1
                    return nil
                }
                // not the fast-path shape: roll its partial writes back, decode in general
                for f in 0..<batch.fieldCount { w.present[f] = 0 }
                batch.strings.removeLast(batch.strings.count - mark)
                do throws(DecodeError) { try decodeFields(bytes, w, &batch.strings) } catch { return error }
                return nil
            }
        }
        if let err { throw err }
    }

    /// Where one row's values go (pointers into the batch, valid during one decode).
    @usableFromInline
    struct RowWriter {
        let slots: UnsafeMutablePointer<Int64>
        let present: UnsafeMutablePointer<UInt8>
        @inline(__always) func set(_ f: Int, _ v: Int64) { slots[f] = v; present[f] = 1 }
    }

    mutating func decodeFields(_ bytes: UnsafeRawBufferPointer, _ row: RowWriter, _ strings: inout ContiguousArray<UInt8>) throws(DecodeError) {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { throw .malformedJSON(offset: 0, issue: .emptyInput) }
        var sc = Scanner(p: p, n: n)
        sc.skipWS()
        guard sc.i < n else { throw .malformedJSON(offset: sc.i, issue: .emptyInput) }
        guard sc.peek == UInt8(ascii: "{") else { throw .malformedJSON(offset: sc.i, issue: .expectedObject) }
        sc.i += 1
        sc.skipWS()
        if sc.i < n && sc.peek == UInt8(ascii: "}") {
            sc.i += 1
        } else {
            var position = 0
            while true {
                sc.skipWS()
                guard sc.i < n else { throw .malformedJSON(offset: sc.i, issue: .unexpectedEnd) }
                guard sc.peek == UInt8(ascii: "\"") else { throw .malformedJSON(offset: sc.i, issue: .expectedKey) }
                var field: Int? = nil
                var matched = false
                // fast path: the key predicted at this position, compared in place (no scan)
                if position < predicted.count {
                    let f = Int(predicted[position])
                    if f >= 0 {
                        let kn = nameStart[f + 1] - nameStart[f]
                        let q = sc.i + 1
                        if q + kn < n && sc.p.load(fromByteOffset: q + kn, as: UInt8.self) == 34
                            && nameBytes.withUnsafeBytes({ memcmpBytes($0.baseAddress! + nameStart[f], sc.p + q, kn) }) {
                            field = f
                            matched = true
                            sc.i = q + kn + 1
                        }
                    }
                }
                if !matched {
                    let key = try scanString(&sc)
                    if key.inScratch {
                        field = withStringPointer(key, sc.p) { kp, kn in schema.fieldIndex(kp, kn) }
                    } else {
                        field = resolveKey(sc.p + key.start, key.count, position: position)
                    }
                }
                position += 1
                sc.skipWS()
                guard sc.i < n else { throw .malformedJSON(offset: sc.i, issue: .unexpectedEnd) }
                guard sc.peek == UInt8(ascii: ":") else { throw .malformedJSON(offset: sc.i, issue: .expectedColon) }
                sc.i += 1
                sc.skipWS()
                guard sc.i < n else { throw .malformedJSON(offset: sc.i, issue: .unexpectedEnd) }
                if let f = field {
                    try decodeValue(&sc, field: f, row: row, strings: &strings)
                } else {
                    try skipValue(&sc)
                }
                sc.skipWS()
                guard sc.i < n else { throw .malformedJSON(offset: sc.i, issue: .unexpectedEnd) }
                let c = sc.peek
                sc.i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "}") { break }
                throw .malformedJSON(offset: sc.i - 1, issue: .expectedCommaOrEnd)
            }
        }
        sc.skipWS()
        if sc.i != n { throw .malformedJSON(offset: sc.i, issue: .trailingCharacters) }
        for f in 0..<types.count where required[f] && row.present[f] == 0 {
            throw .missingRequiredField(field: f, name: schema.fields[f].name)
        }
    }

    /// A scanned string: either a range of the input (no escapes) or of `scratch`.
    @usableFromInline
    struct ScannedString { var start: Int; var count: Int; var inScratch: Bool }

    @inline(__always)
    func withStringPointer<R>(_ s: ScannedString, _ p: UnsafeRawPointer, _ body: (UnsafeRawPointer, Int) -> R) -> R {
        if !s.inScratch { return body(p + s.start, s.count) }
        return scratch.withUnsafeBytes { body($0.baseAddress! + s.start, s.count) }
    }

    @usableFromInline
    mutating func decodeValue(_ sc: inout Scanner, field f: Int, row: RowWriter, strings: inout ContiguousArray<UInt8>) throws(DecodeError) {
        let at = sc.i
        let c = sc.peek
        if c == UInt8(ascii: "n") {
            try sc.literal("null")
            return  // null = absent (required fields then fail the presence check)
        }
        let fi = info[f]
        switch fi.type {
        case .double:
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) || c == UInt8(ascii: "N") || c == UInt8(ascii: "I") else {
                try skipValue(&sc)
                throw wrongType(f, at)
            }
            let v = try parseNumber(&sc, field: f)
            guard v.isFinite else { throw .notFinite(field: f, name: schema.fields[f].name, offset: at) }
            if fi.hasBounds && !(v >= fi.lo && v <= fi.hi) { throw .outOfRange(field: f, name: schema.fields[f].name, value: v, offset: at) }
            row.set(f, Int64(bitPattern: v.bitPattern))
        case .int:
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) || c == UInt8(ascii: "N") || c == UInt8(ascii: "I") else {
                try skipValue(&sc)
                throw wrongType(f, at)
            }
            let v = try parseInteger(&sc, field: f)
            if fi.hasBounds && !(Double(v) >= fi.lo && Double(v) <= fi.hi) {
                throw .outOfRange(field: f, name: schema.fields[f].name, value: Double(v), offset: at)
            }
            row.set(f, v)
        case .bool:
            if c == UInt8(ascii: "t") { try sc.literal("true"); row.set(f, 1) }
            else if c == UInt8(ascii: "f") { try sc.literal("false"); row.set(f, 0) }
            else { try skipValue(&sc); throw wrongType(f, at) }
        case .string:
            guard c == UInt8(ascii: "\"") else { try skipValue(&sc); throw wrongType(f, at) }
            let s = try scanString(&sc)
            let off = strings.count
            if s.inScratch {
                strings.append(contentsOf: scratch[s.start..<s.start + s.count])
            } else {
                // one copy (a byte-by-byte append pays a uniqueness and capacity check per byte)
                strings.append(contentsOf: UnsafeRawBufferPointer(start: sc.p + s.start, count: s.count))
            }
            row.set(f, Int64(bitPattern: (UInt64(off) << 32) | UInt64(s.count)))
        case .category:
            guard c == UInt8(ascii: "\"") else { try skipValue(&sc); throw wrongType(f, at) }
            let s = try scanString(&sc)
            let closed = fi.closed
            let limit = fi.maxCategories
            let id: Int32? = withStringPointer(s, sc.p) { kp, kn in
                let h = weirHashBytes(kp, kn)
                if let id = categories[f].lookup(kp, kn, hash: h) { return id }
                if closed || categories[f].count >= limit { return nil }
                return categories[f].insertNew(kp, kn, hash: h)
            }
            guard let id else { throw .unknownCategory(field: f, name: schema.fields[f].name, offset: at) }
            row.set(f, Int64(id))
        case .timestamp:
            let v: Int64
            if c == UInt8(ascii: "\"") {
                let s = try scanString(&sc)
                guard let ms = withStringPointer(s, sc.p, { parseISO8601Millis($0, $1) }) else {
                    throw .invalidTimestamp(field: f, name: schema.fields[f].name, offset: at)
                }
                v = ms
            } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) || c == UInt8(ascii: "N") || c == UInt8(ascii: "I") {
                let t = try scanNumber(&sc)
                if t.special == 0 && t.isInteger && !t.truncated && t.exp10 == 0 && t.mantissa <= 1 << 53 {
                    // epoch millis as a plain integer: exactly what the Double route gives
                    v = t.negative ? -Int64(t.mantissa) : Int64(t.mantissa)
                } else {
                    let d = tokenValue(t, sc.p)
                    guard d.isFinite, d > -9.2e18, d < 9.2e18 else { throw .notFinite(field: f, name: schema.fields[f].name, offset: at) }
                    v = Int64(d.rounded(.down))
                }
            } else {
                try skipValue(&sc)
                throw wrongType(f, at)
            }
            if fi.hasBounds && !(Double(v) >= fi.lo && Double(v) <= fi.hi) {
                throw .outOfRange(field: f, name: schema.fields[f].name, value: Double(v), offset: at)
            }
            row.set(f, v)
        }
    }

    @usableFromInline
    func wrongType(_ f: Int, _ at: Int) -> DecodeError {
        .wrongType(field: f, name: schema.fields[f].name, expected: types[f], offset: at)
    }

    /// Scans a JSON string starting at the opening quote; unescapes into `scratch` when needed.
    @usableFromInline
    mutating func scanString(_ sc: inout Scanner) throws(DecodeError) -> ScannedString {
        let open = sc.i
        sc.i += 1
        let start = sc.i
        let p = sc.p, n = sc.n
        var i = start
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 34 { sc.i = i + 1; return ScannedString(start: start, count: i - start, inScratch: false) }
            if c == 92 { break }
            if c < 0x20 { throw .malformedJSON(offset: i, issue: .controlCharacterInString) }
            i += 1
        }
        if i >= n { throw .malformedJSON(offset: open, issue: .invalidString) }
        // slow path: escapes
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(start: p + start, count: i - start))
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 34 { sc.i = i + 1; return ScannedString(start: 0, count: scratch.count, inScratch: true) }
            if c < 0x20 { throw .malformedJSON(offset: i, issue: .controlCharacterInString) }
            if c != 92 { scratch.append(c); i += 1; continue }
            guard i + 1 < n else { break }
            let e = p.load(fromByteOffset: i + 1, as: UInt8.self)
            i += 2
            switch e {
            case 34: scratch.append(34)
            case 92: scratch.append(92)
            case 47: scratch.append(47)
            case 98: scratch.append(8)
            case 102: scratch.append(12)
            case 110: scratch.append(10)
            case 114: scratch.append(13)
            case 116: scratch.append(9)
            case 117:
                guard var cp = hex4(p, i, n) else { throw .malformedJSON(offset: i - 2, issue: .invalidEscape) }
                i += 4
                if cp >= 0xD800 && cp < 0xDC00 {
                    guard i + 6 <= n, p.load(fromByteOffset: i, as: UInt8.self) == 92,
                          p.load(fromByteOffset: i + 1, as: UInt8.self) == 117,
                          let lo = hex4(p, i + 2, n), lo >= 0xDC00 && lo < 0xE000
                    else { throw .malformedJSON(offset: i - 6, issue: .invalidEscape) }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    throw .malformedJSON(offset: i - 6, issue: .invalidEscape)
                }
                appendUTF8(cp)
            default: throw .malformedJSON(offset: i - 2, issue: .invalidEscape)
            }
        }
        throw .malformedJSON(offset: open, issue: .invalidString)
    }

    @usableFromInline
    func hex4(_ p: UnsafeRawPointer, _ i: Int, _ n: Int) -> UInt32? {
        guard i + 4 <= n else { return nil }
        var v: UInt32 = 0
        for j in i..<i + 4 {
            let c = p.load(fromByteOffset: j, as: UInt8.self)
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    @usableFromInline
    mutating func appendUTF8(_ cp: UInt32) {
        if cp < 0x80 { scratch.append(UInt8(cp)) }
        else if cp < 0x800 { scratch.append(UInt8(0xC0 | cp >> 6)); scratch.append(UInt8(0x80 | cp & 0x3F)) }
        else if cp < 0x10000 {
            scratch.append(UInt8(0xE0 | cp >> 12)); scratch.append(UInt8(0x80 | (cp >> 6) & 0x3F)); scratch.append(UInt8(0x80 | cp & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | cp >> 18)); scratch.append(UInt8(0x80 | (cp >> 12) & 0x3F))
            scratch.append(UInt8(0x80 | (cp >> 6) & 0x3F)); scratch.append(UInt8(0x80 | cp & 0x3F))
        }
    }
}
