/// Forwards every record to `base` and shows the records of `kinds` to `observe` as well
/// (e.g. to print alerts on a terminal while they go to Kafka).
public struct TeeSink<Base: OutputSink>: OutputSink {
    public var base: Base
    public let kinds: Set<OutputKind>
    public let observe: (OutputKind, UnsafeRawBufferPointer) -> Void

    public init(base: Base, kinds: Set<OutputKind>, observe: @escaping (OutputKind, UnsafeRawBufferPointer) -> Void) {
        self.base = base
        self.kinds = kinds
        self.observe = observe
    }

    public mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        try base.write(kind, key: key, value: value)
        if kinds.contains(kind) { observe(kind, value) }
    }

    public mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        try base.deadLetter(original: original, reason: reason, field: field, source: source)
    }

    public mutating func position(partition: Int32, offset: Int64) {
        base.position(partition: partition, offset: offset)
    }
}
