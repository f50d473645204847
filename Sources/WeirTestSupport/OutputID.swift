/// The `weir.id` header of an output record (docs/records.md, "Kafka headers"), parsed for
/// tests: `<source topic>/<partition>/<offset>/<seq>`. nil when the text does not have that form.
public struct OutputID: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var seq: Int

    public init?(_ header: String?) {
        guard let parts = header?.split(separator: "/", omittingEmptySubsequences: false), parts.count == 4,
              !parts[0].isEmpty, let p = Int32(parts[1]), let o = Int64(parts[2]), let s = Int(parts[3]) else { return nil }
        (topic, partition, offset, seq) = (String(parts[0]), p, o, s)
    }
}
