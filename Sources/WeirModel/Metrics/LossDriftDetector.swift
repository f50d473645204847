import WeirStats

/// A change detector fed with the per-event loss of the champion model (concept drift).
///
/// Conforming types are structs; ``OnlineLearner`` is generic over them. Adapters over WeirStats'
/// ADWIN and Page-Hinkley live next to this protocol.
public protocol LossDriftDetector: Sendable {
    /// Adds one loss value; returns true when a change is detected at this value.
    mutating func update(_ loss: Double) -> Bool
    /// Forgets everything (called after a model is promoted).
    mutating func reset()
}

/// A detector that never fires (retraining then happens only on explicit requests).
public struct NoDriftDetector: LossDriftDetector {
    public init() {}
    public mutating func update(_ loss: Double) -> Bool { false }
    public mutating func reset() {}
}

extension NoDriftDetector: ByteSerializable {
    public func serialize(into w: inout ByteWriter) { w.writeHeader(tag: "WMND", version: 1) }
    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMND", supportedVersions: 1...1)
    }
}
