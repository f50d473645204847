import WeirCore
import WeirTopology

/// Labels that travel on their own topic (`model.label_topic`): each label record names the
/// event it labels by an id field, and arrives after that event was scored.
///
/// Events are scored on arrival and kept by the model's label joiner (bounded in count and
/// wait); a label record joins its event by the hash of the id, and the model learns then
/// (test-then-train with delay). Label records are decoded with the same scanner as events,
/// against a two-field schema: the id (the event field's type) and a numeric label.
///
/// - Complexity: O(bytes) per label record; no allocation per record in steady state.
struct LabelTopicJoin: Sendable {
    let topic: String
    /// The id field in the event schema.
    let eventIDField: Int
    let eventIDIsString: Bool
    let labelFieldName: String
    var decoder: RecordDecoder
    var batch: RecordBatch

    init(topic: String, idField: String, labelField: String, eventSchema: Schema) throws {
        guard let i = eventSchema.index(of: idField) else {
            throw ModelStage.SetupError.unsupported("model.label_topic.id_field '\(idField)' is not a field of the schema")
        }
        let idType = eventSchema.fields[i].type
        guard idType == .string || idType == .int else {
            throw ModelStage.SetupError.unsupported("model.label_topic.id_field '\(idField)' must be a string or int field, not \(idType.rawValue)")
        }
        self.topic = topic
        eventIDField = i
        eventIDIsString = idType == .string
        labelFieldName = labelField
        let schema = try Schema([FieldSpec(idField, idType), FieldSpec(labelField, .double)])
        decoder = RecordDecoder(schema: schema)
        batch = RecordBatch(fieldCount: 2, capacity: 1024)
    }

    /// The join key of an event row (its id field), or nil when the event has no id.
    func eventID(_ records: RecordBatch, _ row: Int) -> UInt64? {
        guard records.isPresent(row, eventIDField) else { return nil }
        if eventIDIsString { return records.withStringBytes(row, eventIDField) { Self.hash($0) } }
        return UInt64(bitPattern: records.int(row, eventIDField))
    }

    /// The join key and label of a decoded label row.
    func label(_ row: Int) -> (id: UInt64, label: Double) {
        let id = eventIDIsString ? batch.withStringBytes(row, 0) { Self.hash($0) } : UInt64(bitPattern: batch.int(row, 0))
        return (id, batch.double(row, 1))
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0x9E37_79B9_7F4A_7C15 }
        return weirHashBytes(base, bytes.count)
    }
}
