/// Why a schema, a window, an aggregate or a graph could not be built. Cases name what and where.
public enum SchemaError: Error, Equatable, Sendable {
    case emptySchema
    case duplicateField(name: String)
    case unknownField(name: String)
    case invalidBounds(field: String, detail: String)
    case duplicateCategory(field: String, value: String)
    case fieldTypeMismatch(field: String, expected: String, found: FieldType)
    case invalidWindow(detail: String)
    case invalidAggregate(name: String, detail: String)
    case duplicateName(String)
    case unknownWindow(name: String)
    case unknownAggregate(window: String, name: String)
    case invalidFeature(detail: String)
}
