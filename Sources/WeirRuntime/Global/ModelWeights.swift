import WeirModel
import WeirStats

/// The champion as the global stage broadcasts it to the tasks that score (`docs/scaling.md`):
/// its ``ModelSnapshot`` (weights, intercept, standardiser, version) with the topology's name,
/// the labels it has learned and when it was taken. A task scores with the newest it has read;
/// ``ageMs(now:)`` at scoring is the staleness the `weir_weights_age_seconds` metric reports.
///
/// Invariant: ``makeScorer()`` scores exactly as ``ModelStage/makeScorer()`` of the stage it was
/// taken from did at that moment (same code, bit for bit). Cost: encoding and decoding copy the
/// snapshot, `O(inputs)`; a scorer is made once per weights record, not per event.
public struct ModelWeights: Sendable {
    /// The champion of one of the three optimisers (``ModelStage`` holds exactly one).
    public enum Champion: Sendable, Equatable {
        case sgd(ModelSnapshot<SGD>)
        case adagrad(ModelSnapshot<AdaGrad>)
        case ftrl(ModelSnapshot<FTRLProximal>)
    }

    public let topology: String
    public let producedAtMs: Int64
    public let labelsLearned: Int
    public let champion: Champion
    /// Per task partition (index), the newest source offset whose event the global stage had
    /// learned from when it took these weights (-1: none). A task far ahead of it waits
    /// (`docs/scaling.md`: the staleness bound in events). Empty: not stated.
    public var covered: [Int64] = []

    public init(topology: String, producedAtMs: Int64, labelsLearned: Int, champion: Champion) {
        self.topology = topology
        self.producedAtMs = producedAtMs
        self.labelsLearned = labelsLearned
        self.champion = champion
    }

    /// The champion's version.
    public var version: Int {
        switch champion {
        case .sgd(let s): return s.version.version
        case .adagrad(let s): return s.version.version
        case .ftrl(let s): return s.version.version
        }
    }

    /// Milliseconds since the weights were taken (0 when `now` is earlier: clocks of two hosts).
    public func ageMs(now: Int64) -> Int64 { max(0, now - producedAtMs) }

    /// A function from a raw model input to its score, as ``ModelStage/makeScorer()``.
    public func makeScorer() -> @Sendable (UnsafeBufferPointer<Double>, inout ModelInput) -> Double {
        switch champion {
        case .sgd(let s): return ModelStage.scorer(standardizer: s.standardizer, champion: s.model)
        case .adagrad(let s): return ModelStage.scorer(standardizer: s.standardizer, champion: s.model)
        case .ftrl(let s): return ModelStage.scorer(standardizer: s.standardizer, champion: s.model)
        }
    }

    /// The record's bytes (the value of a `<name>.weights` message on `<name>.models`).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.writeHeader(tag: "WWGT", version: 2)
        w.write(topology)
        w.write(producedAtMs)
        w.write(labelsLearned)
        switch champion {
        case .sgd(let s): s.serialize(into: &w)
        case .adagrad(let s): s.serialize(into: &w)
        case .ftrl(let s): s.serialize(into: &w)
        }
        w.write(covered.count)
        for o in covered { w.write(o) }
        return w.bytes
    }

    /// Decodes a weights record of topology `expected` whose model uses optimiser `optimizer`
    /// (the receiving topology's).
    /// - Throws: ``SerializationError`` for foreign, truncated or trailing bytes, another
    ///   topology's record, or another optimiser's.
    public init(decoding bytes: [UInt8], topology expected: String, optimizer: String) throws(SerializationError) {
        var r = ByteReader(bytes)
        let version = try r.readHeader(tag: "WWGT", supportedVersions: 1...2)
        topology = try r.readString(field: "topology")
        guard topology == expected else { throw .invalidValue(field: "topology", detail: "weights of '\(topology)', this topology is '\(expected)'") }
        producedAtMs = try r.readInt64()
        labelsLearned = try r.readInt()
        switch optimizer {
        case SGD.name: champion = .sgd(try ModelSnapshot(deserializing: &r))
        case AdaGrad.name: champion = .adagrad(try ModelSnapshot(deserializing: &r))
        case FTRLProximal.name: champion = .ftrl(try ModelSnapshot(deserializing: &r))
        default: throw .invalidValue(field: "optimizer", detail: "unknown optimiser '\(optimizer)'")
        }
        if version >= 2 {
            let n = try r.readCount(field: "covered", limit: 1 << 16)
            covered = []
            for _ in 0..<n { covered.append(try r.readInt64()) }
        }
        guard r.isAtEnd else { throw .invalidValue(field: "weights", detail: "\(r.remaining) trailing bytes") }
    }
}

extension ModelStage {
    /// The optimiser's short name ("sgd", "adagrad", "ftrl").
    public var optimizerName: String { sgd != nil ? SGD.name : adagrad != nil ? AdaGrad.name : FTRLProximal.name }

    /// The champion as it is now, for broadcasting (``ModelWeights``).
    public func weights(topology: String, producedAtMs: Int64) -> ModelWeights {
        let champion: ModelWeights.Champion
        if let l = sgd { champion = .sgd(l.snapshot) } else if let l = adagrad { champion = .adagrad(l.snapshot) } else { champion = .ftrl(ftrl!.snapshot) }
        return ModelWeights(topology: topology, producedAtMs: producedAtMs, labelsLearned: labelsLearned, champion: champion)
    }
}
