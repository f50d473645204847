import Testing
import WeirModel
import WeirStats

/// Snapshot → restore → continue equals an uninterrupted run, bit for bit.
@Suite struct SnapshotTests {
    func runSplit<O: OnlineOptimizer>(_ opt: O, l1: Double = 0, l2: Double = 0) throws {
        let rows = try loadParityRows().prefix(6_000)
        let cfg = LinearModelConfig(layout: parityLayout, l2: l2, l1: l1)
        var straight = LinearModel(config: cfg, optimizer: opt)
        var split = LinearModel(config: cfg, optimizer: opt)
        var input = ModelInput(layout: parityLayout)
        var version = ModelVersion(modelId: "fraud", version: 3, createdAt: 1_700_000_000_000, parentVersion: 2,
                                   referenceId: "ref-7", retrainRequestId: "req-1", reason: "concept_drift")
        var std = OnlineStandardizer(numericCount: 4)
        var std2 = std
        for (i, r) in rows.enumerated() {
            if i == 3_000 {
                let bytes = ModelSnapshot(version: version, model: split, standardizer: std2).serialized()
                let restored = try ModelSnapshot<O>(serialized: bytes)
                #expect(restored.model == split)
                #expect(restored.version == version)
                #expect(restored.standardizer == std2)
                split = restored.model
                std2 = restored.standardizer!
                version = restored.version
            }
            fill(&input, r)
            var a = input, b = input
            std.observeAndTransform(&a)
            std2.observeAndTransform(&b)
            let pa = straight.predict(a), pb = split.predict(b)
            #expect(pa.bitPattern == pb.bitPattern, "event \(i)")
            straight.learn(a, label: r.y)
            split.learn(b, label: r.y)
        }
        #expect(straight.weights == split.weights)
        #expect(straight.intercept.bitPattern == split.intercept.bitPattern)
        #expect(straight.optimizer == split.optimizer)
        #expect(straight.counts == split.counts)
    }

    @Test func sgd() throws { try runSplit(SGD(lr: 0.01)) }
    @Test func sgdWithL1() throws { try runSplit(SGD(lr: 0.01), l1: 0.001) }
    @Test func adaGradWithL2() throws { try runSplit(AdaGrad(), l2: 0.01) }
    @Test func ftrl() throws { try runSplit(FTRLProximal(l1: 0.01)) }
    @Test func inverseScaling() throws { try runSplit(SGD(.inverseScaling(0.1, power: 0.25))) }

    @Test func learnerRestoreContinuesLikeTheOriginal() throws {
        let rows = try loadParityRows().prefix(4_000)
        let cfg = OnlineLearnerConfig(standardize: true)
        func make() -> OnlineLearner<AdaGrad, NoDriftDetector> {
            OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: parityLayout), optimizer: AdaGrad()),
                          version: ModelVersion(modelId: "m"), freshOptimizer: AdaGrad(), detector: NoDriftDetector(), config: cfg)
        }
        var original = make()
        var restarted = make()
        var input = ModelInput(layout: parityLayout)
        for (i, r) in rows.enumerated() {
            if i == 2_000 {
                let bytes = original.snapshot.serialized()
                restarted.restore(try ModelSnapshot<AdaGrad>(serialized: bytes))
            }
            fill(&input, r)
            var copy = input
            let p = original.scoreAndLearn(input: &input, label: r.y, time: Int64(i))
            if i >= 2_000 {
                let q = restarted.scoreAndLearn(input: &copy, label: r.y, time: Int64(i))
                #expect(p.bitPattern == q.bitPattern, "event \(i)")
            }
        }
        #expect(original.champion == restarted.champion)
        #expect(original.standardizer == restarted.standardizer)
    }

    @Test func corruptOrForeignBytesThrow() throws {
        let m = LinearModel(config: LinearModelConfig(layout: parityLayout), optimizer: SGD())
        let bytes = ModelSnapshot(version: ModelVersion(modelId: "x"), model: m).serialized()
        #expect(throws: SerializationError.self) { try ModelSnapshot<SGD>(serialized: Array(bytes.dropLast(5))) }
        #expect(throws: SerializationError.self) { try ModelSnapshot<AdaGrad>(serialized: bytes) }
        var bad = bytes
        bad[0] = 0x41
        #expect(throws: SerializationError.self) { try ModelSnapshot<SGD>(serialized: bad) }
    }
}
