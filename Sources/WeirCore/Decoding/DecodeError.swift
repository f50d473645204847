/// What is syntactically wrong with a JSON input.
public enum JSONSyntaxIssue: String, Sendable, Equatable {
    case emptyInput, expectedObject, expectedKey, expectedColon, expectedCommaOrEnd
    case unexpectedEnd, invalidValue, invalidNumber, invalidString, invalidEscape
    case controlCharacterInString, trailingCharacters, nestingTooDeep
}

/// Why one record could not be decoded. Every case names the field (index and name) and/or the
/// byte offset in the input where the problem was found, so a dead-letter record can say what
/// and where (the runtime adds topic, partition and offset).
public enum DecodeError: Error, Equatable, Sendable {
    /// The bytes are not a JSON object; `offset` is the byte where parsing stopped.
    case malformedJSON(offset: Int, issue: JSONSyntaxIssue)
    /// A required field is absent or `null`.
    case missingRequiredField(field: Int, name: String)
    /// The JSON value at `offset` does not have the field's type.
    case wrongType(field: Int, name: String, expected: FieldType, offset: Int)
    /// A numeric value outside the field's `[min, max]`.
    case outOfRange(field: Int, name: String, value: Double, offset: Int)
    /// NaN, ±Infinity (as literals) or a number that overflows `Double`/`Int64`.
    case notFinite(field: Int, name: String, offset: Int)
    /// A category value outside the allowed set (or beyond `maxCategories` for open sets).
    case unknownCategory(field: Int, name: String, offset: Int)
    /// A timestamp string that is not ISO-8601 (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`).
    case invalidTimestamp(field: Int, name: String, offset: Int)

    /// The field index the error is about, if any.
    public var fieldIndex: Int? {
        switch self {
        case .malformedJSON: return nil
        case .missingRequiredField(let f, _), .wrongType(let f, _, _, _), .outOfRange(let f, _, _, _),
             .notFinite(let f, _, _), .unknownCategory(let f, _, _), .invalidTimestamp(let f, _, _): return f
        }
    }

    /// The name of the field the error is about, if any.
    public var fieldName: String? {
        switch self {
        case .malformedJSON: return nil
        case .missingRequiredField(_, let n), .wrongType(_, let n, _, _), .outOfRange(_, let n, _, _),
             .notFinite(_, let n, _), .unknownCategory(_, let n, _), .invalidTimestamp(_, let n, _): return n
        }
    }

    /// The byte offset in the input, if any.
    public var byteOffset: Int? {
        switch self {
        case .malformedJSON(let o, _): return o
        case .missingRequiredField: return nil
        case .wrongType(_, _, _, let o), .outOfRange(_, _, _, let o), .notFinite(_, _, let o),
             .unknownCategory(_, _, let o), .invalidTimestamp(_, _, let o): return o
        }
    }

    /// A short machine-friendly reason ("missing_required", "wrong_type", ...).
    public var reason: String {
        switch self {
        case .malformedJSON: return "malformed_json"
        case .missingRequiredField: return "missing_required"
        case .wrongType: return "wrong_type"
        case .outOfRange: return "out_of_range"
        case .notFinite: return "not_finite"
        case .unknownCategory: return "unknown_category"
        case .invalidTimestamp: return "invalid_timestamp"
        }
    }
}

extension DecodeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .malformedJSON(let o, let issue): return "malformed JSON at byte \(o): \(issue.rawValue)"
        case .missingRequiredField(_, let n): return "missing required field '\(n)'"
        case .wrongType(_, let n, let t, let o): return "field '\(n)' at byte \(o): expected \(t.rawValue)"
        case .outOfRange(_, let n, let v, let o): return "field '\(n)' at byte \(o): \(v) out of range"
        case .notFinite(_, let n, let o): return "field '\(n)' at byte \(o): not a finite number"
        case .unknownCategory(_, let n, let o): return "field '\(n)' at byte \(o): unknown category"
        case .invalidTimestamp(_, let n, let o): return "field '\(n)' at byte \(o): invalid timestamp"
        }
    }
}
