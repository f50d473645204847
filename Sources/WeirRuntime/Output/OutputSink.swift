import WeirTopology

/// The kinds of records Weir emits, one topic (or file) each. See `docs/records.md`.
public enum OutputKind: Int, CaseIterable, Sendable {
    case scores, features, windows, late, drift, alerts, retrain, models

    /// The file name stem and the sink key in topology files.
    public var name: String {
        switch self {
        case .scores: return "scores"
        case .features: return "features"
        case .windows: return "windows"
        case .late: return "late"
        case .drift: return "drift"
        case .alerts: return "alerts"
        case .retrain: return "retrain"
        case .models: return "models"
        }
    }
}

extension SinksSpec {
    /// Whether the topology writes records of `kind` (`sinks.<kind>: null` turns one off).
    public func isEnabled(_ kind: OutputKind) -> Bool {
        SinkKind(rawValue: kind.name).map(isEnabled) ?? true
    }
}

/// Where an input record came from: enough to find it again.
public struct SourcePosition: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// A destination for Weir's outputs: JSONL files (replay) or Kafka topics (run).
///
/// Implementations are value types used generically (`inout some OutputSink`), so the
/// pipeline's calls are specialised, never dispatched through an existential per record.
public protocol OutputSink {
    /// One JSON record of `kind`; `key` is the Kafka message key (entity key, or feature for drift).
    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws
    /// A record that failed decoding or validation: the original bytes, why, and where from.
    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws
    /// The source record (of the pipeline's topic) that the next outputs follow from: the event
    /// itself for scores and for drift records judged at it, the batch's last record for window
    /// results fired by a batch. Sinks that tag records with their origin (Kafka headers) keep it.
    mutating func position(partition: Int32, offset: Int64)
}

extension OutputSink {
    /// Default: positions are not recorded.
    @inlinable
    public mutating func position(partition: Int32, offset: Int64) {}
}

/// A sink that drops every record (e.g. `weir profile`, which keeps only the pipeline's state).
struct DiscardingSink: OutputSink {
    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {}
    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {}
}
