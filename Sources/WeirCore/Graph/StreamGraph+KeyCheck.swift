/// The message-key check of a partitioned task (``StreamGraph/keyCheckField``, docs/scaling.md):
/// a record's message key must be its key field's value as a producer keying by that field
/// writes it (`weir produce --key-field`): a string's UTF-8 bytes, an int's or timestamp's
/// decimal text, a category's name, `true` or `false`.
extension StreamGraph {
    /// Whether `key` is the value of field `field` (of type `type`) of decoded row `row`.
    /// - Complexity: O(key bytes); no allocation.
    @inline(__always)
    func messageKeyMatches(_ key: UnsafeRawBufferPointer, row: Int, field: Int, type: FieldType) -> Bool {
        guard outputs.records.isPresent(row, field) else { return false }
        switch type {
        case .string:
            return outputs.records.withStringBytes(row, field) { Self.sameBytes($0, key) }
        case .int, .timestamp:
            return Self.isDecimalText(key, of: outputs.records.int(row, field))
        case .bool:
            return outputs.records.bool(row, field) ? Self.isASCII(key, "true") : Self.isASCII(key, "false")
        case .category:
            let id = outputs.records.category(row, field)
            guard decoder.categories[field].isLive(id) else { return false }
            return decoder.categories[field].withBytes(of: id) { Self.sameBytes($0, key) }
        case .double:
            return false
        }
    }

    /// The value of field `field` of decoded row `row` as its message key should be (nil when the
    /// row has none; a `double` as Swift prints it). Allocates: for error messages.
    func messageKeyText(row: Int, field: Int) -> [UInt8]? {
        decoder.messageKeyText(outputs.records, row: row, field: field)
    }

    @inline(__always)
    static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }  // both empty
        return memcmpBytes(pa, pb, a.count)
    }

    @inline(__always)
    static func isASCII(_ key: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        sameBytes(key, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether `key` is exactly the decimal text of `v` (a `-` for negatives, no leading zeros,
    /// no `+`), as `String(v)` writes it.
    static func isDecimalText(_ key: UnsafeRawBufferPointer, of v: Int64) -> Bool {
        var magnitude = v.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let negative = v < 0
        guard key.count == digits + (negative ? 1 : 0) else { return false }
        if negative && key[0] != UInt8(ascii: "-") { return false }
        var i = key.count - 1
        repeat {
            guard key[i] == UInt8(ascii: "0") &+ UInt8(magnitude % 10) else { return false }
            magnitude /= 10
            i -= 1
        } while magnitude > 0
        return true
    }
}

extension RecordDecoder {
    /// The value of field `field` of row `row` of `records` (decoded by this decoder) as a
    /// producer keying by that field writes the message key: a string's UTF-8 bytes, an int's or
    /// timestamp's decimal text, a category's name, `true`/`false` (a `double` as Swift prints
    /// it); nil when the row has no value. Allocates: for messages and serving, not per event.
    public func messageKeyText(_ records: RecordBatch, row: Int, field: Int) -> [UInt8]? {
        guard records.isPresent(row, field) else { return nil }
        switch schema.fields[field].type {
        case .string: return records.withStringBytes(row, field) { Array($0) }
        case .int, .timestamp: return Array(String(records.int(row, field)).utf8)
        case .bool: return Array((records.bool(row, field) ? "true" : "false").utf8)
        case .category:
            let id = records.category(row, field)
            return categories[field].isLive(id) ? categories[field].bytes(of: id) : nil
        case .double: return Array(String(records.double(row, field)).utf8)
        }
    }
}
