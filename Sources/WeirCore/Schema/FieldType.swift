/// The type of one schema field, as decoded from JSON.
///
/// - `double`: a JSON number (must be finite).
/// - `int`: a JSON integer literal that fits in `Int64` (no fraction, no exponent).
/// - `bool`: `true` / `false`.
/// - `string`: a JSON string, kept as bytes (no `String` is created per event).
/// - `category`: a JSON string interned to a small `Int32` id by the field's ``CategoryInterner``.
/// - `timestamp`: epoch milliseconds as a JSON number, or an ISO-8601 string
///   (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`); stored as `Int64` epoch millis.
public enum FieldType: String, Sendable, Equatable, Hashable, CaseIterable {
    case double, int, bool, string, category, timestamp

    /// True for types whose value can be read as a `Double` (double, int, bool, timestamp).
    public var isNumeric: Bool {
        switch self {
        case .double, .int, .bool, .timestamp: return true
        case .string, .category: return false
        }
    }
}

/// One declared field: its name, type, whether it must be present, and its bounds.
///
/// Invariants (checked by ``Schema/init(_:)``): `min <= max` when both are set; `categories` only
/// on `.category` fields and without duplicates; bounds only on numeric fields.
public struct FieldSpec: Sendable, Equatable {
    /// The JSON key.
    public var name: String
    /// The decoded type.
    public var type: FieldType
    /// When true, a missing (or `null`) value is a ``DecodeError/missingRequiredField(field:name:)``.
    public var required: Bool
    /// Inclusive lower bound for numeric fields (for timestamps: epoch millis).
    public var min: Double?
    /// Inclusive upper bound for numeric fields.
    public var max: Double?
    /// For `.category`: the allowed values (a closed set, ids in this order). `nil` means an open
    /// set: new values are interned on first sight, up to `maxCategories`.
    public var categories: [String]?
    /// For open `.category` fields: the most distinct values interned; beyond it, new values are
    /// ``DecodeError/unknownCategory(field:name:offset:)``.
    public var maxCategories: Int

    public init(_ name: String, _ type: FieldType, required: Bool = true, min: Double? = nil, max: Double? = nil,
                categories: [String]? = nil, maxCategories: Int = 65_536) {
        self.name = name
        self.type = type
        self.required = required
        self.min = min
        self.max = max
        self.categories = categories
        self.maxCategories = maxCategories
    }

    public static func double(_ name: String, required: Bool = true, min: Double? = nil, max: Double? = nil) -> FieldSpec {
        FieldSpec(name, .double, required: required, min: min, max: max)
    }
    public static func int(_ name: String, required: Bool = true, min: Double? = nil, max: Double? = nil) -> FieldSpec {
        FieldSpec(name, .int, required: required, min: min, max: max)
    }
    public static func bool(_ name: String, required: Bool = true) -> FieldSpec {
        FieldSpec(name, .bool, required: required)
    }
    public static func string(_ name: String, required: Bool = true) -> FieldSpec {
        FieldSpec(name, .string, required: required)
    }
    public static func category(_ name: String, required: Bool = true, allowed: [String]? = nil,
                                maxCategories: Int = 65_536) -> FieldSpec {
        FieldSpec(name, .category, required: required, categories: allowed, maxCategories: maxCategories)
    }
    public static func timestamp(_ name: String, required: Bool = true, min: Double? = nil, max: Double? = nil) -> FieldSpec {
        FieldSpec(name, .timestamp, required: required, min: min, max: max)
    }
}
