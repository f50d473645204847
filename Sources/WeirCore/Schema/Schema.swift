/// A declared event schema: an ordered list of fields, addressed by index.
///
/// Field names are resolved to indices once, through a hash table over the names' bytes
/// (``fieldIndex(_:_:)`` hashes the JSON key in place), never per event through `String`.
/// Immutable once built; `Sendable`.
public struct Schema: Sendable {
    /// The fields, in declaration order (a field's index is its position here).
    public let fields: [FieldSpec]
    @usableFromInline let names: ByteInterner

    /// Builds a schema.
    /// - Throws: ``SchemaError`` for an empty list, duplicate names, inconsistent bounds or categories.
    public init(_ fields: [FieldSpec]) throws(SchemaError) {
        guard !fields.isEmpty else { throw .emptySchema }
        var names = ByteInterner(capacity: fields.count)
        for f in fields {
            let before = names.count
            let id = names.intern(Array(f.name.utf8))
            if names.count == before || Int(id) != names.count - 1 { throw .duplicateField(name: f.name) }
            if f.min != nil || f.max != nil {
                guard f.type.isNumeric else { throw .invalidBounds(field: f.name, detail: "bounds on a \(f.type) field") }
                if let lo = f.min, let hi = f.max, !(lo <= hi) { throw .invalidBounds(field: f.name, detail: "min \(lo) > max \(hi)") }
                if let lo = f.min, lo.isNaN { throw .invalidBounds(field: f.name, detail: "min is NaN") }
                if let hi = f.max, hi.isNaN { throw .invalidBounds(field: f.name, detail: "max is NaN") }
            }
            if let cats = f.categories {
                guard f.type == .category else { throw .invalidBounds(field: f.name, detail: "categories on a \(f.type) field") }
                var seen = Set<String>()
                for c in cats where !seen.insert(c).inserted { throw .duplicateCategory(field: f.name, value: c) }
            }
            if f.maxCategories < 1 { throw .invalidBounds(field: f.name, detail: "maxCategories < 1") }
        }
        self.fields = fields
        self.names = names
    }

    /// Number of fields.
    public var count: Int { fields.count }

    /// The index of a field, or nil.
    public func index(of name: String) -> Int? { names.lookup(Array(name.utf8)).map(Int.init) }

    /// The index of the field whose name is the given bytes, or nil. Allocation-free.
    @inlinable
    public func fieldIndex(_ p: UnsafeRawPointer, _ n: Int) -> Int? {
        names.lookup(p, n, hash: weirHashBytes(p, n)).map(Int.init)
    }

    /// The index of `name`, checking its type is one of `types`.
    /// - Throws: ``SchemaError/unknownField(name:)`` or ``SchemaError/fieldTypeMismatch(field:expected:found:)``.
    public func requireField(_ name: String, types: Set<FieldType>) throws(SchemaError) -> Int {
        guard let i = index(of: name) else { throw .unknownField(name: name) }
        guard types.contains(fields[i].type) else {
            throw .fieldTypeMismatch(field: name, expected: types.map(\.rawValue).sorted().joined(separator: "|"), found: fields[i].type)
        }
        return i
    }
}
