import WeirStats

/// ADWIN (WeirStats, River's algorithm and defaults: δ 0.002, clock 32) on the per-event loss.
/// Checks run every `clock` updates, so detection delay is quantised to 32 events. With
/// `increasesOnly` (default) a cut counts as drift only when the mean loss of the kept (recent)
/// window is above the mean before the cut: a model that gets better is not "drift".
public struct ADWINLossDetector: LossDriftDetector {
    public private(set) var adwin: ADWIN
    public let increasesOnly: Bool

    /// - Throws: `StatsError` when the configuration is invalid.
    public init(config: ADWINConfig = ADWINConfig(), increasesOnly: Bool = true) throws(StatsError) {
        adwin = try ADWIN(config: config)
        self.increasesOnly = increasesOnly
    }

    public mutating func update(_ loss: Double) -> Bool {
        let before = adwin.estimation
        guard adwin.update(loss) else { return false }
        return !increasesOnly || adwin.estimation > before
    }

    public mutating func reset() { adwin.reset() }
}

/// Page-Hinkley (WeirStats) on the per-event loss. The default configuration is River's with
/// `mode: .up` (only increases of the loss are drift).
public struct PageHinkleyLossDetector: LossDriftDetector {
    public private(set) var detector: PageHinkley

    /// - Throws: `StatsError` when the configuration is invalid.
    public init(config: PageHinkleyConfig = PageHinkleyConfig(mode: .up)) throws(StatsError) {
        detector = try PageHinkley(config: config)
    }

    public mutating func update(_ loss: Double) -> Bool { detector.update(loss) }

    public mutating func reset() { detector.reset() }
}

extension ADWINLossDetector: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMAD", version: 1)
        w.write(increasesOnly)
        adwin.serialize(into: &w)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMAD", supportedVersions: 1...1)
        increasesOnly = try r.readBool()
        adwin = try ADWIN(deserializing: &r)
    }
}

extension PageHinkleyLossDetector: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMPH", version: 1)
        detector.serialize(into: &w)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMPH", supportedVersions: 1...1)
        detector = try PageHinkley(deserializing: &r)
    }
}
