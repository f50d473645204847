import WeirStats

extension WindowAccumulator {
    func serialize(into w: inout ByteWriter) {
        w.write(Int64(start)); w.write(Int64(end))
        quality.serialize(into: &w)
        sample.serialize(into: &w)
        categories.serialize(into: &w)
        w.write(inputs != nil)
        inputs?.serialize(into: &w)
        w.write(firstEventTime); w.write(lastEventTime)
        w.write(categoryOverflow)
    }

    /// `version`: of the enclosing ``FieldMonitor`` snapshot (1 had no inputs, 1 and 2 no event-time
    /// span, 1–3 no overflow count).
    init(deserializing r: inout ByteReader, version: UInt16) throws(SerializationError) {
        start = try r.readInt64()
        end = try r.readInt64()
        quality = try QualityCounters(deserializing: &r)
        sample = try ReservoirSample(deserializing: &r)
        categories = try CategoryCounts(deserializing: &r)
        if version >= 2, try r.readBool() { inputs = try InputSample(deserializing: &r) }
        if version >= 3 {
            firstEventTime = try r.readInt64()
            lastEventTime = try r.readInt64()
        }
        if version >= 4 { categoryOverflow = try r.readInt() }
    }
}

extension ReferenceBuilder: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WRBL", version: 1)
        w.write(UInt8(kind == .numeric ? 0 : 1))
        w.write(cap)
        w.write(sketchK)
        w.write(raw)
        w.write(sketch != nil)
        sketch?.serialize(into: &w)
        moments.serialize(into: &w)
        categories.serialize(into: &w)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WRBL", supportedVersions: 1...1)
        let k = try r.readUInt8()
        guard k <= 1 else { throw .invalidValue(field: "ReferenceBuilder.kind", detail: "\(k)") }
        kind = k == 0 ? .numeric : .categorical
        cap = try r.readInt()
        sketchK = try r.readInt()
        do { emptySketch = try KLLSketch(k: sketchK) } catch {
            throw .invalidValue(field: "ReferenceBuilder.sketchK", detail: "\(error)")
        }
        raw = try r.readDoubles(field: "ReferenceBuilder.raw")
        sketch = try r.readBool() ? try KLLSketch(deserializing: &r) : nil
        moments = try RunningMoments(deserializing: &r)
        categories = try CategoryCounts(deserializing: &r)
        guard cap >= 1, raw.count <= cap, raw.allSatisfy({ $0.isFinite }) else {
            throw .invalidValue(field: "ReferenceBuilder", detail: "cap \(cap), \(raw.count) raw values")
        }
    }
}

extension FieldMonitor {
    /// What a snapshot that leaves out the reference part says of it, checked on restore against
    /// the base it applies on (a guard against a wrong base, not a hash): whether there is a
    /// reference, its size and id, and how many reference inputs were seen.
    var referenceDigest: String {
        "\(reference.map { "\($0.count) values" } ?? "no reference") \(referenceInfo?.id ?? "-") \(referenceInputs.map { "\($0.seen) inputs" } ?? "-")"
    }

    /// The monitor's state as bytes (tag "WFMN", version 5): reference or reference builder, open
    /// windows (quality, reservoir with its random state, category counts, model inputs, event-time
    /// span, overflow count), which categories are kept (the cap), counters
    /// and watermark; with rescoring, the reference inputs and the windows awaiting their scores.
    /// Records not yet drained are **not** included: call ``drainRecords()`` first.
    /// Restoring with the same config and continuing gives the same records as never stopping.
    ///
    /// `includingReference` false leaves out the reference part (reference, its info, the
    /// reference inputs; ``referenceRevision``): a checkpoint increment on a base that holds the
    /// same revision. Restore such bytes with ``init(_:restoring:base:)`` and that base.
    /// - Complexity: O(monitor state); without the reference, O(state minus the reference).
    public func snapshot(includingReference: Bool = true) -> [UInt8] {
        var w = ByteWriter()
        w.writeHeader(tag: "WFMN", version: 5)
        w.write(config.feature)
        w.write(UInt8(kind == .numeric ? 0 : 1))
        w.write(includingReference)
        if includingReference {
            w.write(reference != nil); reference?.serialize(into: &w)
            w.write(referenceInfo != nil); referenceInfo?.serialize(into: &w)
        } else {
            w.write(referenceDigest)
        }
        w.write(builder != nil); builder?.serialize(into: &w)
        w.write(referenceEvents); w.write(Int64(referenceTimeMin)); w.write(Int64(referenceTimeMax))
        w.write(referenceMode)
        current.serialize(into: &w)
        w.write(eventsInWindow); w.write(Int64(sequence))
        w.write(UInt64(open.count))
        for a in open { a.serialize(into: &w) }
        w.write(Int64(watermark)); w.write(Int64(forceClosedThrough)); w.write(nextWindow); w.write(pendingDeadLetters)
        w.write(lateEvents); w.write(ignoredEvents)
        w.write(UInt64(categoryNames.count))
        for n in categoryNames { w.write(n) }
        if includingReference {
            w.write(referenceInputs != nil)
            referenceInputs?.serialize(into: &w)
        }
        w.write(UInt64(awaiting.count))
        for a in awaiting {
            a.window.serialize(into: &w)
            w.write(UInt8(a.windowType == .count ? 0 : 1))
            w.write(a.deadLetters)
        }
        w.writeBytes(categoryState)
        w.write(UInt64(sparseCategoryState.count))
        for (id, s) in sparseCategoryState.sorted(by: { $0.key < $1.key }) { w.write(id); w.write(s) }
        w.write(keptCategories)
        return w.bytes
    }

    /// Restores a monitor from ``snapshot(includingReference:)`` bytes with the configuration it
    /// ran with. Bytes without the reference part take it from `base` (the monitor restored from
    /// the checkpoint they are an increment on).
    /// - Throws: ``SerializationError`` on damaged bytes, when the feature, kind or sample cap
    ///   differ from `config` (`invalidValue(field: "FieldMonitor.config", …)`), or for bytes
    ///   without the reference part and no `base` of the same feature
    ///   (`invalidValue(field: "FieldMonitor.reference", …)`).
    public init(_ config: MonitorConfig, restoring bytes: [UInt8], base: FieldMonitor? = nil) throws(SerializationError) {
        do { try self.init(config) } catch {
            throw .invalidValue(field: "FieldMonitor.config", detail: "\(error)")
        }
        var r = ByteReader(bytes)
        let version = try r.readHeader(tag: "WFMN", supportedVersions: 1...5)
        let feature = try r.readString(field: "FieldMonitor.feature")
        let k = try r.readUInt8()
        guard feature == config.feature, k == (config.kind == .numeric ? 0 : 1) else {
            throw .invalidValue(field: "FieldMonitor.config", detail: "snapshot of \(feature) (kind \(k)) for \(config.feature)")
        }
        let includesReference = version >= 5 ? try r.readBool() : true
        if includesReference {
            reference = try r.readBool() ? try FieldReference(deserializing: &r) : nil
            referenceInfo = try r.readBool() ? try ReferenceInfo(deserializing: &r) : nil
        } else {
            let digest = try r.readString(field: "FieldMonitor.referenceDigest")
            guard let base, base.config.feature == feature, base.referenceDigest == digest else {
                throw .invalidValue(field: "FieldMonitor.reference",
                                    detail: "snapshot of \(feature) leaves out its reference (\(digest)), and the state it applies on holds \(base.map { "another (\($0.referenceDigest))" } ?? "none"): restore the checkpoint it is an increment on first")
            }
            reference = base.reference
            referenceInfo = base.referenceInfo
        }
        builder = try r.readBool() ? try ReferenceBuilder(deserializing: &r) : nil
        referenceEvents = try r.readInt()
        referenceTimeMin = try r.readInt64(); referenceTimeMax = try r.readInt64()
        referenceMode = try r.readUInt8()
        current = try WindowAccumulator(deserializing: &r, version: version)
        eventsInWindow = try r.readInt(); sequence = try r.readInt64()
        let n = try r.readCount(field: "FieldMonitor.open", limit: 1_000_000)
        open = []
        for _ in 0..<n { open.append(try WindowAccumulator(deserializing: &r, version: version)) }
        watermark = try r.readInt64(); forceClosedThrough = try r.readInt64()
        nextWindow = try r.readInt(); pendingDeadLetters = try r.readInt()
        lateEvents = try r.readInt(); ignoredEvents = try r.readInt()
        let c = try r.readCount(field: "FieldMonitor.categoryNames", limit: 100_000_000)
        categoryNames = []
        for _ in 0..<c { categoryNames.append(try r.readString(field: "FieldMonitor.categoryName")) }
        let configuredInputs = referenceInputs != nil
        if version >= 2 {
            if !includesReference {
                referenceInputs = base?.referenceInputs
            } else {
                referenceInputs = try r.readBool() ? try InputSample(deserializing: &r) : nil
            }
            let k = try r.readCount(field: "FieldMonitor.awaiting", limit: 1_000_000)
            awaiting = []
            for _ in 0..<k {
                let w = try WindowAccumulator(deserializing: &r, version: version)
                let t = try r.readUInt8()
                awaiting.append(AwaitingWindow(window: w, windowType: t == 0 ? .count : .eventTime, deadLetters: try r.readInt()))
            }
        } else if configuredInputs {
            throw .invalidValue(field: "FieldMonitor.config", detail: "version 1 snapshot predates rescoring (no model inputs kept)")
        }
        if version >= 4 {
            categoryState = try r.readBytes(field: "FieldMonitor.categoryState")
            let k = try r.readCount(field: "FieldMonitor.sparseCategoryState", limit: 100_000_000)
            sparseCategoryState = [:]
            for _ in 0..<k { sparseCategoryState[try r.readInt32()] = try r.readUInt8() }
            keptCategories = try r.readInt()
            let kept = categoryState.filter { $0 == 1 }.count + sparseCategoryState.values.filter { $0 == 1 }.count
            guard categoryState.allSatisfy({ $0 <= 2 }), sparseCategoryState.values.allSatisfy({ $0 <= 2 }), kept == keptCategories else {
                throw .invalidValue(field: "FieldMonitor.categoryState", detail: "\(keptCategories) kept, \(kept) marked")
            }
        }
        // Older snapshots kept every category: the cap counts categories from the restore on.
        guard configuredInputs == (referenceInputs != nil), (current.inputs != nil) == configuredInputs,
              referenceInputs.map({ $0.dimension == config.rescoring?.dimension }) ?? true else {
            throw .invalidValue(field: "FieldMonitor.config", detail: "snapshot's model inputs do not match the rescoring configuration")
        }
        guard r.isAtEnd else { throw .invalidValue(field: "FieldMonitor", detail: "\(r.remaining) trailing bytes") }
        // The same reference as the base's: the same revision (an increment after this one may leave it out again).
        if !includesReference, let base { referenceRevision = base.referenceRevision }
        let caps = ([current] + open).map(\.sample.capacity)
        guard caps.allSatisfy({ $0 == config.sampleCap }), referenceMode <= 3, (builder == nil) == (referenceMode == 0 || referenceMode == 3),
              eventsInWindow >= 0, referenceEvents >= 0, countWindow == 0 || eventsInWindow < countWindow,
              reference.map({ $0.kind == config.kind }) ?? true else {
            throw .invalidValue(field: "FieldMonitor.config", detail: "snapshot inconsistent with the configuration")
        }
    }
}
