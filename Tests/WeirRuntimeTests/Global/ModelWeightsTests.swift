import Testing
import WeirModel
import WeirStats
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// Broadcast weights (`docs/scaling.md`): a task scoring with a decoded weights record scores
/// exactly as the global stage's champion did when the record was taken, for every optimiser.
@Suite struct ModelWeightsTests {
    static func stage(optimizer: String, standardize: Bool) throws -> ModelStage {
        let yaml = """
            name: weights-test
            source: {topics: [events], key: user, event_time: ts}
            schema:
              ts: {type: timestamp}
              user: {type: string}
              a: {type: double}
              b: {type: double}
              c: {type: double}
              label: {type: int, min: 0, max: 1, required: false}
            model:
              type: logistic
              inputs: [a, b, c]
              optimizer: \(optimizer)
              learning_rate: 0.05
              standardize: \(standardize)
            """
        let spec = try TopologyLoader.parse(yaml, file: "weights-test.yaml")
        return try ModelStage(spec: spec.model!, dimension: 3, topologyName: spec.name)
    }

    /// Trains `stage` on `n` seeded labelled events (a linear rule with noise).
    static func train(_ stage: inout ModelStage, _ n: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var input = ModelInput(layout: FeatureLayout(numericCount: 3))
        for t in 0..<n {
            let x = [g.nextGaussian() * 3 + 1, g.nextGaussian(), g.nextUnit() * 100]
            input.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: x) }
            let label: Double = x[0] - 0.5 * x[1] + 0.01 * x[2] + g.nextGaussian() > 1.5 ? 1 : 0
            _ = stage.processVersioned(&input, label: label, time: Int64(t))
        }
    }

    static func scores(_ score: (UnsafeBufferPointer<Double>, inout ModelInput) -> Double, seed: UInt64) -> [UInt64] {
        var g = SeededGenerator(seed: seed)
        var scratch = ModelInput(layout: FeatureLayout(numericCount: 3))
        return (0..<200).map { _ in
            let x = [g.nextGaussian() * 5, g.nextGaussian() * 2, g.nextUnit() * 300]
            return x.withUnsafeBufferPointer { score($0, &scratch).bitPattern }
        }
    }

    @Test(arguments: ["sgd", "adagrad", "ftrl"], [true, false])
    func decodedWeightsScoreBitForBitAsTheChampionDid(optimizer: String, standardize: Bool) throws {
        var stage = try Self.stage(optimizer: optimizer, standardize: standardize)
        Self.train(&stage, 3000, seed: 11)
        let taken = stage.weights(topology: "weights-test", producedAtMs: 1_000)
        let expected = Self.scores(stage.makeScorer(), seed: 5)
        let decoded = try ModelWeights(decoding: taken.encoded(), topology: "weights-test", optimizer: stage.optimizerName)
        #expect(decoded.champion == taken.champion)
        #expect(decoded.version == stage.version && decoded.labelsLearned == stage.labelsLearned && decoded.labelsLearned > 0)
        #expect(Self.scores(decoded.makeScorer(), seed: 5) == expected)
        #expect(decoded.ageMs(now: 1_250) == 250 && decoded.ageMs(now: 900) == 0)
        // The champion learns on: the old weights are now stale (they score differently), the
        // new ones again equal it.
        Self.train(&stage, 500, seed: 12)
        #expect(Self.scores(stage.makeScorer(), seed: 5) != expected)
        #expect(Self.scores(decoded.makeScorer(), seed: 5) == expected)
        let newer = try ModelWeights(decoding: stage.weights(topology: "weights-test", producedAtMs: 2_000).encoded(),
                                     topology: "weights-test", optimizer: stage.optimizerName)
        #expect(Self.scores(newer.makeScorer(), seed: 5) == Self.scores(stage.makeScorer(), seed: 5))
    }

    @Test func anotherTopologysOrOptimisersOrBrokenWeightsAreRefused() throws {
        var stage = try Self.stage(optimizer: "sgd", standardize: true)
        Self.train(&stage, 100, seed: 3)
        let bytes = stage.weights(topology: "weights-test", producedAtMs: 7).encoded()
        #expect(throws: SerializationError.invalidValue(field: "topology", detail: "weights of 'weights-test', this topology is 'other'")) {
            _ = try ModelWeights(decoding: bytes, topology: "other", optimizer: "sgd")
        }
        #expect(throws: SerializationError.self) { _ = try ModelWeights(decoding: bytes, topology: "weights-test", optimizer: "ftrl") }
        #expect(throws: SerializationError.self) { _ = try ModelWeights(decoding: bytes + [0], topology: "weights-test", optimizer: "sgd") }
        for length in 0..<bytes.count {
            #expect(throws: SerializationError.self, "length \(length)") {
                _ = try ModelWeights(decoding: Array(bytes[0..<length]), topology: "weights-test", optimizer: "sgd")
            }
        }
    }

    /// A stage restored from its serialized form continues exactly as the original (the per-event
    /// outcome: scores, versions, pending decisions), for every optimiser, labelled and unlabelled
    /// events alike.
    @Test(arguments: ["sgd", "adagrad", "ftrl"])
    func aRestoredStageContinuesAsTheOriginal(optimizer: String) throws {
        var original = try Self.stage(optimizer: optimizer, standardize: true)
        Self.train(&original, 500, seed: 3)
        var restored = try ModelStage(serialized: original.serialized())
        var g = SeededGenerator(seed: 9)
        var a = ModelInput(layout: FeatureLayout(numericCount: 3)), b = a
        for t in 500..<900 {
            let x = [g.nextGaussian(), g.nextGaussian(), g.nextUnit() * 10]
            a.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: x) }
            b.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: x) }
            let label: Double? = t % 3 == 0 ? nil : (x[0] > 0 ? 1 : 0)
            let (oa, ob) = (original.processVersioned(&a, label: label, time: Int64(t)), restored.processVersioned(&b, label: label, time: Int64(t)))
            #expect(oa.score.bitPattern == ob.score.bitPattern && oa.version == ob.version && oa.pendingDecisions == ob.pendingDecisions, "event \(t)")
            #expect(oa.version == original.version && oa.pendingDecisions == original.hasPendingDecisions)
        }
        #expect(restored.optimizerName == original.optimizerName)
    }
}
