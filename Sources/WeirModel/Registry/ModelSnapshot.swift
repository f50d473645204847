import WeirStats

extension LinearModel: ByteSerializable {
    /// Writes config, weights, intercept, optimiser state, counters and L1 state; every `Double`
    /// as its bit pattern, so a restored model continues exactly as the original would.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMLM", version: 1)
        config.serialize(into: &w)
        w.write(weights.array)
        w.write(intercept)
        optimizer.serialize(into: &w)
        counts.serialize(into: &w)
        w.write(cumL1.array)
        w.write(maxCumL1)
    }

    /// - Throws: ``SerializationError`` when the bytes are truncated, mistagged, or the weight
    ///   count does not match the layout.
    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMLM", supportedVersions: 1...1)
        let config = try LinearModelConfig(deserializing: &r)
        let ws = try r.readDoubles(field: "weights")
        guard ws.count == config.layout.dimension else {
            throw .invalidValue(field: "weights", detail: "\(ws.count) weights for dimension \(config.layout.dimension)")
        }
        let b = try r.readDouble()
        let opt = try O(deserializing: &r)
        let counts = try TrainingCounts(deserializing: &r)
        let cum = try r.readDoubles(field: "cumL1")
        let maxCum = try r.readDouble()
        self.init(config: config, optimizer: opt)
        _weights = DoubleStorage(ws)
        _intercept = b
        _optimizer = opt
        _counts = counts
        cumL1 = DoubleStorage(cum)
        maxCumL1 = maxCum
    }
}

/// A model version with its parameters and (optionally) its input standardiser: what the model
/// topic and restarts need. Restores bit-for-bit.
public struct ModelSnapshot<O: OnlineOptimizer>: Sendable, Equatable, ByteSerializable {
    public var version: ModelVersion
    public var model: LinearModel<O>
    public var standardizer: OnlineStandardizer?

    public init(version: ModelVersion, model: LinearModel<O>, standardizer: OnlineStandardizer? = nil) {
        self.version = version
        self.model = model
        self.standardizer = standardizer
    }

    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMSN", version: 1)
        w.write(O.name)
        version.serialize(into: &w)
        model.serialize(into: &w)
        w.write(standardizer != nil)
        standardizer?.serialize(into: &w)
    }

    /// - Throws: ``SerializationError/invalidValue(field:detail:)`` when the snapshot was written
    ///   for another optimiser type, or any error of the parts.
    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMSN", supportedVersions: 1...1)
        let name = try r.readString(field: "optimizer")
        guard name == O.name else { throw .invalidValue(field: "optimizer", detail: "snapshot is \(name), expected \(O.name)") }
        version = try ModelVersion(deserializing: &r)
        model = try LinearModel<O>(deserializing: &r)
        standardizer = try r.readBool() ? try OnlineStandardizer(deserializing: &r) : nil
    }
}
