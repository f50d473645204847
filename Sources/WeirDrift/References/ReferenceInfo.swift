import WeirJSON
import WeirStats

/// How a reference was built (written into drift records and saved profiles).
public struct ReferenceInfo: Sendable, Equatable {
    /// The way the reference was chosen.
    public enum Kind: String, Sendable, Equatable {
        /// The first N events of the monitored stream.
        case firstEvents = "first_events"
        /// Events whose event time is in `[timeStart, timeEnd)`.
        case eventTimeRange = "event_time_range"
        /// Given directly (e.g. built elsewhere). A reference loaded from a ``ReferenceProfile`` file keeps
        /// the info it was saved with (its original kind, id, n and time range).
        case profile
        /// The previous window (rolling reference).
        case rolling
        /// A file compared ad hoc (`weir compare`).
        case file
    }

    public var kind: Kind
    /// Identifier written in records (`reference_id`), e.g. a profile id or "amount/first_events/200000".
    public var id: String
    /// Values the statistics use (valid values; for a sketch-backed reference, the sketch's count).
    public var n: Int
    /// Event-time range covered (ms), when known.
    public var timeStart: Int64?
    public var timeEnd: Int64?
    /// Raw-sample cap: beyond it the reference is a quantile grid of a KLL sketch.
    public var cap: Int?
    /// Normalised rank error of the sketch when the reference is sketch-backed, else nil (exact).
    public var sketchRankError: Double?

    public init(kind: Kind, id: String, n: Int, timeStart: Int64? = nil, timeEnd: Int64? = nil,
                cap: Int? = nil, sketchRankError: Double? = nil) {
        self.kind = kind; self.id = id; self.n = n; self.timeStart = timeStart; self.timeEnd = timeEnd
        self.cap = cap; self.sketchRankError = sketchRankError
    }

    /// Writes the `reference` object of a record.
    public func write(into w: inout JSONWriter, key: String = "reference") {
        w.beginObject(key)
        w.field("id", id)
        w.field("kind", kind.rawValue)
        w.field("n", n)
        w.field("time_start", timeStart)
        w.field("time_end", timeEnd)
        w.field("cap", cap)
        w.field("exact", sketchRankError == nil)
        w.field("sketch_rank_error", sketchRankError)
        w.endObject()
    }
}

extension ReferenceInfo: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WRIN", version: 1)
        w.write(kind.rawValue)
        w.write(id)
        w.write(n)
        w.write(timeStart != nil); w.write(timeStart ?? 0)
        w.write(timeEnd != nil); w.write(timeEnd ?? 0)
        w.write(cap != nil); w.write(cap ?? 0)
        w.write(sketchRankError != nil); w.write(sketchRankError ?? 0)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WRIN", supportedVersions: 1...1)
        let k = try r.readString(field: "ReferenceInfo.kind")
        guard let kind = Kind(rawValue: k) else { throw .invalidValue(field: "ReferenceInfo.kind", detail: k) }
        self.kind = kind
        id = try r.readString(field: "ReferenceInfo.id")
        n = try r.readInt()
        let hasStart = try r.readBool(); let s = try r.readInt64()
        let hasEnd = try r.readBool(); let e = try r.readInt64()
        let hasCap = try r.readBool(); let c = try r.readInt()
        let hasErr = try r.readBool(); let err = try r.readDouble()
        timeStart = hasStart ? s : nil
        timeEnd = hasEnd ? e : nil
        cap = hasCap ? c : nil
        sketchRankError = hasErr ? err : nil
        guard n >= 0, err.isFinite else { throw .invalidValue(field: "ReferenceInfo", detail: "n \(n) error \(err)") }
    }
}
