import Testing
import WeirModel
import WeirStats

/// A full learner checkpoint (pending labels, metrics, ADWIN, retraining buffer, challenger in
/// shadow) restores to a learner that continues exactly like the uninterrupted one.
@Suite struct LearnerCheckpointTests {
    @Test func checkpointRestoreContinueEqualsUninterruptedRun() throws {
        let w = [2.0, -2.0, 1.5, -1.0]
        let stream = logisticStream(n: 6_000, w: w, b: 0, seed: 41) + logisticStream(n: 6_000, w: w.map { -$0 }, b: 0, seed: 42)
        let layout = FeatureLayout(numericCount: 4)
        let cfg = OnlineLearnerConfig(standardize: true, joiner: LabelJoinerConfig(capacity: 256, maxWait: 150),
                                      window: .sliding(500),
                                      retraining: RetrainingConfig(bufferCapacity: 800, minTrainingEvents: 200, trainingEpochs: 2,
                                                                   minShadowEvents: 300, margin: 0.05, warmupEvents: 2_000))
        func make() throws -> OnlineLearner<SGD, ADWINLossDetector> {
            OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01)),
                          version: ModelVersion(modelId: "fraud"), freshOptimizer: SGD(lr: 0.01),
                          detector: try ADWINLossDetector(), config: cfg)
        }
        var straight = try make()
        var resumed = try make()
        var x = ModelInput(layout: layout)
        var sawShadowCheckpoint = false, sawWaitingCheckpoint = false
        var decisions = 0
        for (i, e) in stream.enumerated() {
            // Checkpoint and restore `resumed` every 1,500 events (and whenever a challenger is in shadow
            // at a multiple of 100), through bytes.
            let waiting = resumed.gate.waitingRequestId != nil
            if i % 1_500 == 0 || (resumed.gate.inShadow && i % 100 == 0) || (waiting && i % 50 == 0) {
                if resumed.gate.inShadow { sawShadowCheckpoint = true }
                if waiting { sawWaitingCheckpoint = true }
                let bytes = resumed.serialized()
                resumed = try OnlineLearner<SGD, ADWINLossDetector>(serialized: bytes)
                #expect(resumed.serialized() == bytes, "restore is lossless at \(i)")
            }
            let id = UInt64(i)
            fillNumeric(&x, e.x)
            var y1 = x, y2 = x
            let p1 = straight.score(eventId: id, time: Int64(i), input: &y1)
            let p2 = resumed.score(eventId: id, time: Int64(i), input: &y2)
            #expect(p1.bitPattern == p2.bitPattern, "score at \(i)")
            // Labels arrive 100 events late; every 50th never arrives (expires after 150).
            if i >= 100, (i - 100) % 50 != 0 {
                let r1 = straight.applyLabel(eventId: UInt64(i - 100), label: stream[i - 100].y, now: Int64(i))
                let r2 = resumed.applyLabel(eventId: UInt64(i - 100), label: stream[i - 100].y, now: Int64(i))
                #expect(r1 == r2, "label at \(i)")
            }
            let d1 = straight.takeDecisions(), d2 = resumed.takeDecisions()
            #expect(d1 == d2, "decisions at \(i)")
            decisions += d1.count
        }
        #expect(straight.serialized() == resumed.serialized())
        #expect(sawShadowCheckpoint, "a checkpoint was taken while a challenger was in shadow")
        #expect(sawWaitingCheckpoint, "a checkpoint was taken while a drift request waited for data")
        #expect(decisions >= 2)
        #expect(straight.joiner.counts.expired > 0)
        // Damaged checkpoints are rejected with a typed error.
        let bytes = straight.serialized()
        #expect(throws: SerializationError.self) { try OnlineLearner<SGD, ADWINLossDetector>(serialized: Array(bytes.prefix(bytes.count / 2))) }
    }
}
