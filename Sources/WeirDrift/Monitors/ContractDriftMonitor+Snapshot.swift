import WeirStats

/// Snapshots of the contract monitor (tag "WCDM" v1): the samples of the open reference or window,
/// the sorted reference with its PSI edges and shares, the drift streaks and the window index.
/// Undrained records are not included (drain first), nor a window judged in the background
/// (``ContractDriftMonitor/completePending(wait:)`` first). Restoring and continuing gives exactly the
/// records of an uninterrupted run.
/// - Complexity: O(reference + window size).
extension ContractDriftMonitor: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        precondition(inFlight == nil, "ContractDriftMonitor: completePending() before taking a snapshot")
        w.writeHeader(tag: "WCDM", version: 1)
        w.write(UInt64(features.count))
        for f in features { w.write(f) }
        w.write(referenceCount); w.write(windowSize)
        for c in columns { w.write(c) }
        w.write(filled); w.write(referenceReady)
        w.write(UInt64(refSorted.count))
        for f in 0..<refSorted.count { w.write(refSorted[f]); w.write(refEdges[f]); w.write(refShares[f]) }
        for s in streak { w.write(s) }
        w.write(window)
    }

    /// - Throws: ``SerializationError`` for truncated or inconsistent bytes.
    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WCDM", supportedVersions: 1...1)
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
        for f in 0..<n { streak[f] = try r.readInt() }
        window = try r.readInt()
        let limit = referenceReady ? windowSize : refCount
        guard filled >= 0, filled < limit, window >= 0, columns.allSatisfy({ $0.count <= filled }) else {
            throw .invalidValue(field: "ContractDriftMonitor", detail: "filled \(filled) of \(limit), window \(window)")
        }
    }
}
