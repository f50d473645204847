import Foundation
import Testing
import WeirDrift
import WeirTopology
@testable import WeirRuntime

/// Serving requests answered while a score monitor's window is judged under one model
/// (`Pipeline.servingPause`): the demo topology's 20,000 reference inputs are scored and sorted at
/// every window close (~2–3 ms), which requests used to wait for. The pause hands the runner a copy
/// of the pipeline between steps of that work; what it answers from equals the state at the end
/// of the batch being processed (features), and the pipeline writes exactly what one without the
/// pause writes.
@Suite struct ServingDuringJudgementTests {
    /// What the pause saw, from the processing thread (the only caller).
    final class Seen: @unchecked Sendable {
        var pauses = 0
        var withDriftStage = 0
        /// The features reply of the probed key at each pause, and the batch it came during.
        var replies: [(batch: Int, reply: ServingReply)] = []
        var scoreStatuses: [Int] = []
        var batch = 0
    }

    @Test func requestsAreAnsweredDuringTheJudgementFromTheBatchsStateAndChangeNothing() throws {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path))
        // 20,000 reference events, then windows of 5,000: four score windows judged (the model has
        // learned from far more than the 1,000 warm-up labels by then).
        let gen = CardFraudGenerator(seed: 7, users: 300)
        let lines = (0..<42_000).map { gen.event($0) }
        let probeKey = "u7"
        let probeEvent = Array(gen.event(42_001).utf8)

        let seen = Seen()
        var plain = try Pipeline(compiled: compiled)
        var paused = try Pipeline(compiled: compiled)
        paused.servingPause = { view in
            seen.pauses += 1
            if view.drift != nil { seen.withDriftStage += 1 }
            seen.replies.append((seen.batch, view.featuresReply(key: probeKey)))
            seen.scoreStatuses.append(view.scoreReply(event: probeEvent, now: 0).status)
        }
        var plainSink = RecordingSink(), pausedSink = RecordingSink()
        var checked = 0
        for (b, start) in stride(from: 0, to: lines.count, by: 1_024).enumerated() {
            let batch = ServingConsistencyTests.batch(lines[start..<min(start + 1_024, lines.count)], first: start)
            seen.batch = b
            try plain.process(batch, topic: "transactions", now: 0, into: &plainSink)
            try paused.process(batch, topic: "transactions", now: 0, into: &pausedSink)
            // Every answer given during this batch's judgement is the answer after the batch.
            let after = paused.featuresReply(key: probeKey)
            for (_, reply) in seen.replies.filter({ $0.batch == b }) {
                #expect(reply == after, "batch \(b): during the judgement \(reply.text), after the batch \(after.text)")
                checked += 1
            }
        }
        try plain.finish(into: &plainSink)
        try paused.finish(into: &pausedSink)

        let judged = try pausedSink.objects(.drift).filter { $0["feature"] as? String == "score" && !($0["scored_by"] is NSNull) && $0["scored_by"] != nil }
        #expect(judged.count >= 4, "\(judged.count) score windows judged under one model")
        // At least one pause per 2,048 reference scores of every judged window.
        #expect(seen.pauses >= judged.count * (20_000 / InputSample.scoresPerPause), "\(seen.pauses) pauses for \(judged.count) windows")
        #expect(checked == seen.pauses)
        #expect(seen.replies.allSatisfy { $0.reply.status == 200 }, "the probed key is live: \(seen.replies.first { $0.reply.status != 200 }?.reply.text ?? "")")
        #expect(seen.scoreStatuses.allSatisfy { $0 == 200 })
        // The copy carries no drift stage, so the judgement's writes copy none of its storage.
        #expect(seen.withDriftStage == 0)
        // The pause changes no output.
        #expect(pausedSink.records == plainSink.records)
        #expect(pausedSink.records.count > 40_000)
    }
}
