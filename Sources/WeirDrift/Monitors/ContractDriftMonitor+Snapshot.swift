import WeirStats

/// Snapshots of the contract monitor (tag "WCDM" v2): the samples of the open reference or window,
/// the sorted reference with its PSI edges and shares (unless left out, below), the drift streaks
/// and the window index. Undrained records are not included (drain first), nor a window judged in
/// the background (``ContractDriftMonitor/completePending(wait:)`` first). Restoring and
/// continuing gives exactly the records of an uninterrupted run.
/// - Complexity: O(reference + window size); O(window size) without the reference.
extension ContractDriftMonitor: ByteSerializable {
    public func serialize(into w: inout ByteWriter) { serialize(into: &w, includingReference: true) }

    /// The snapshot; `includingReference` false leaves out the complete reference (a checkpoint
    /// increment on a base whose reference was complete: it never changes once complete). Restore
    /// such bytes with ``init(deserializing:base:)``.
    public func serialize(into w: inout ByteWriter, includingReference: Bool) {
        precondition(inFlight == nil, "ContractDriftMonitor: completePending() before taking a snapshot")
        let reference = includingReference || !referenceReady
        w.writeHeader(tag: "WCDM", version: 2)
        w.write(UInt64(features.count))
        for f in features { w.write(f) }
        w.write(referenceCount); w.write(windowSize)
        for c in columns { w.write(c) }
        w.write(filled); w.write(referenceReady)
        w.write(reference)
        if reference {
            w.write(UInt64(refSorted.count))
            for f in 0..<refSorted.count { w.write(refSorted[f]); w.write(refEdges[f]); w.write(refShares[f]) }
        }
        for s in streak { w.write(s) }
        w.write(window)
    }

    /// The snapshot bytes, optionally without the complete reference (``serialize(into:includingReference:)``).
    public func serialized(includingReference: Bool) -> [UInt8] {
        var w = ByteWriter()
        serialize(into: &w, includingReference: includingReference)
        return w.bytes
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try self.init(deserializing: &r, base: nil)
    }

    /// Restores a snapshot; one without the reference takes it from `base` (the monitor restored
    /// from the checkpoint these bytes are an increment on).
    /// - Throws: ``SerializationError`` for truncated or inconsistent bytes, or a reference left
    ///   out with no `base` of the same features and sizes whose reference is complete.
    public init(deserializing r: inout ByteReader, base: ContractDriftMonitor?) throws(SerializationError) {
        let version = try r.readHeader(tag: "WCDM", supportedVersions: 1...2)
        let n = try r.readCount(field: "ContractDriftMonitor.features", limit: r.remaining)
        guard n >= 1 else { throw .invalidValue(field: "ContractDriftMonitor.features", detail: "none") }
        var features: [String] = []
        for _ in 0..<n { features.append(try r.readString(field: "ContractDriftMonitor.feature")) }
        let refCount = try r.readInt(), windowSize = try r.readInt()
        do {
            try self.init(features: features, referenceCount: refCount, windowSize: windowSize)
        } catch {
            throw .invalidValue(field: "ContractDriftMonitor", detail: "\(error)")
        }
        for f in 0..<n {
            let c = try r.readDoubles(field: "ContractDriftMonitor.columns")
            columns[f].append(contentsOf: c)
        }
        filled = try r.readInt()
        referenceReady = try r.readBool()
        let includesReference = version == 1 ? true : try r.readBool()
        if includesReference {
            let nr = try r.readCount(field: "ContractDriftMonitor.reference", limit: n)
            guard nr == (referenceReady ? n : 0) else {
                throw .invalidValue(field: "ContractDriftMonitor.reference", detail: "\(nr) references, ready \(referenceReady)")
            }
            for _ in 0..<nr {
                refSorted.append(try r.readDoubles(field: "ContractDriftMonitor.refSorted"))
                let edges = try r.readDoubles(field: "ContractDriftMonitor.refEdges")
                let shares = try r.readDoubles(field: "ContractDriftMonitor.refShares")
                guard edges.count == Self.psiBins - 1 || edges.isEmpty, shares.count == Self.psiBins else {
                    throw .invalidValue(field: "ContractDriftMonitor.reference", detail: "\(edges.count) edges, \(shares.count) shares")
                }
                refEdges.append(edges)
                refShares.append(shares)
            }
        } else {
            guard referenceReady, let base, base.referenceReady, base.features == features, base.referenceCount == refCount,
                  base.windowSize == windowSize else {
                throw .invalidValue(field: "ContractDriftMonitor.reference",
                                    detail: "the snapshot leaves out its complete reference and no checkpoint holding it was restored")
            }
            refSorted = base.refSorted
            refEdges = base.refEdges
            refShares = base.refShares
        }
        for f in 0..<n { streak[f] = try r.readInt() }
        window = try r.readInt()
        let limit = referenceReady ? windowSize : refCount
        guard filled >= 0, filled < limit, window >= 0, columns.allSatisfy({ $0.count <= filled }) else {
            throw .invalidValue(field: "ContractDriftMonitor", detail: "filled \(filled) of \(limit), window \(window)")
        }
    }
}
