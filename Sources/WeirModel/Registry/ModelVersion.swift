import WeirStats

/// Identity and lineage of one trained model.
///
/// `modelId` names the model line (the compaction key of the model topic); `version` increases
/// by one for every challenger trained on that line. `parentVersion` is the champion the
/// challenger was trained beside; `referenceId` names the reference data set/window it relates
/// to; `retrainRequestId` and `reason` say which request created it (nil for the initial model).
public struct ModelVersion: Sendable, Equatable, ByteSerializable {
    public var modelId: String
    public var version: Int
    /// Caller time (e.g. epoch ms) when this version was created.
    public var createdAt: Int64
    public var parentVersion: Int?
    public var referenceId: String?
    public var retrainRequestId: String?
    public var reason: String?

    public init(modelId: String, version: Int = 1, createdAt: Int64 = 0, parentVersion: Int? = nil,
                referenceId: String? = nil, retrainRequestId: String? = nil, reason: String? = nil) {
        self.modelId = modelId
        self.version = version
        self.createdAt = createdAt
        self.parentVersion = parentVersion
        self.referenceId = referenceId
        self.retrainRequestId = retrainRequestId
        self.reason = reason
    }

    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMVR", version: 1)
        w.write(modelId); w.write(version); w.write(createdAt)
        w.write(parentVersion != nil); w.write(parentVersion ?? 0)
        for s in [referenceId, retrainRequestId, reason] { w.write(s != nil); w.write(s ?? "") }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMVR", supportedVersions: 1...1)
        modelId = try r.readString(field: "modelId")
        version = try r.readInt()
        createdAt = try r.readInt64()
        let hasParent = try r.readBool(), parent = try r.readInt()
        parentVersion = hasParent ? parent : nil
        var opt = [String?]()
        for f in ["referenceId", "retrainRequestId", "reason"] {
            let has = try r.readBool(), s = try r.readString(field: f)
            opt.append(has ? s : nil)
        }
        referenceId = opt[0]; retrainRequestId = opt[1]; reason = opt[2]
    }
}
