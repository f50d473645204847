import Testing
import WeirStats
@testable import WeirModel
import WeirTestSupport

/// Delayed labels: scores are emitted before labels, learning applies to the right event,
/// labels that never arrive expire and are counted.
@Suite struct LabelJoinerTests {
    let layout = FeatureLayout(numericCount: 3, sparseDimension: 8, sparseCapacity: 2)

    func input(_ i: Int) -> ModelInput {
        var x = ModelInput(layout: layout)
        x.setNumeric(0, Double(i)); x.setNumeric(1, Double(i % 7) - 3); x.setNumeric(2, 0.5)
        x.appendSparse(index: Int32(i % 8), value: 1)
        return x
    }

    @Test func learningAppliesToTheRightEventWhenLabelsArriveLateAndShuffled() {
        let n = 3_000
        let events = logisticStream(n: n, w: [1, -1, 0.5], b: 0.2, seed: 5)
        let lay = FeatureLayout(numericCount: 3)
        let model = LinearModel(config: LinearModelConfig(layout: lay), optimizer: SGD(lr: 0.05))
        var learner = OnlineLearner(model: model, version: ModelVersion(modelId: "m"), freshOptimizer: SGD(lr: 0.05),
                                    detector: NoDriftDetector(),
                                    config: OnlineLearnerConfig(joiner: LabelJoinerConfig(capacity: 1_000, maxWait: 10_000)))
        // Reference: a plain model that learns (x_i, y_i) in label-arrival order, scoring at arrival.
        var reference = model
        var x = ModelInput(layout: lay)
        var rng = SeededGenerator(seed: 9)
        var pending = [Int]()
        var scores = [Double](repeating: -1, count: n)
        var t: Int64 = 0
        var i = 0
        while i < n || !pending.isEmpty {
            t += 1
            if i < n && (pending.count < 50 || Bool.random(using: &rng)) {
                fillNumeric(&x, events[i].x)
                let p = learner.score(eventId: UInt64(1_000_000 + i), time: t, input: &x)
                fillNumeric(&x, events[i].x)
                #expect(p == reference.predict(x), "score emitted on arrival, before any later label")
                scores[i] = p
                pending.append(i)
                i += 1
            } else {
                let k = pending.remove(at: Int.random(in: 0..<pending.count, using: &rng))
                let r = learner.applyLabel(eventId: UInt64(1_000_000 + k), label: events[k].y, now: t)
                guard case .joined(let e, let outcome) = r else { Issue.record("label \(k) unmatched"); return }
                #expect(e.score == scores[k])
                #expect(outcome.didLearn)
                fillNumeric(&x, events[k].x)
                reference.learn(x, label: events[k].y)
            }
        }
        #expect(learner.champion.weights == reference.weights, "same updates, same order, same events")
        #expect(learner.champion.intercept.bitPattern == reference.intercept.bitPattern)
        #expect(learner.joiner.counts.joined == n)
        #expect(learner.joiner.counts.expired == 0)
        #expect(learner.prequential.count == n)
    }

    /// A joiner allocates its slots at its first add: one that is only asked (labels that match
    /// nothing, expiry) or only serialised and restored holds no storage, and behaves as before.
    @Test func storageIsAllocatedAtTheFirstAdd() throws {
        var j = LabelJoiner(layout: layout, config: LabelJoinerConfig(capacity: 1_000, maxWait: 50))
        var out = ModelInput(layout: layout)
        #expect(!j.isAllocated && j.ids.isEmpty && j.table.isEmpty)
        #expect(j.join(eventId: 7, now: 10, into: &out) == nil && j.expire(now: 100) == 0)
        #expect(j.counts.unmatchedLabels == 1 && !j.isAllocated)
        var restored = try LabelJoiner(serialized: j.serialized())
        #expect(!restored.isAllocated && restored.serialized() == j.serialized())
        for i in 0..<5 { restored.add(eventId: UInt64(i), time: 100, score: 0.5, input: input(i)) }
        #expect(restored.isAllocated && restored.ids.count == 1_000 && restored.pendingCount == 5)
        #expect(restored.join(eventId: 3, now: 110, into: &out)?.time == 100 && out == input(3))
        let again = try LabelJoiner(serialized: restored.serialized())
        #expect(again.isAllocated && again.pendingCount == 4 && again.serialized() == restored.serialized())
    }

    @Test func labelsThatNeverArriveExpireAndAreCounted() {
        var j = LabelJoiner(layout: layout, config: LabelJoinerConfig(capacity: 100, maxWait: 50))
        var out = ModelInput(layout: layout)
        for i in 0..<10 { j.add(eventId: UInt64(i), time: Int64(i * 10), score: 0.1, input: input(i)) }
        // Adding at time 90 already expired times < 40 (ids 0...3); now = 120 expires times < 70.
        #expect(j.counts.expired == 4)
        #expect(j.expire(now: 120) == 3)
        #expect(j.counts.expired == 7)
        #expect(j.pendingCount == 3)
        // A label for an expired event is unmatched; one for a live event joins.
        #expect(j.join(eventId: 3, now: 120, into: &out) == nil)
        #expect(j.counts.unmatchedLabels == 1)
        let e = j.join(eventId: 8, now: 120, into: &out)
        #expect(e?.time == 80)
        #expect(out == input(8), "features of event 8 restored exactly")
        // The rest expire later.
        #expect(j.expire(now: 1_000) == 2)
        #expect(j.counts.expired == 9)
        #expect(j.pendingCount == 0)
    }

    @Test func capacityEvictsOldestAndCounts() {
        var j = LabelJoiner(layout: layout, config: LabelJoinerConfig(capacity: 4, maxWait: 1_000_000))
        var out = ModelInput(layout: layout)
        for i in 0..<6 { j.add(eventId: UInt64(i), time: 0, score: Double(i), input: input(i)) }
        #expect(j.counts.evicted == 2)
        #expect(j.join(eventId: 0, now: 0, into: &out) == nil)
        #expect(j.join(eventId: 5, now: 0, into: &out)?.score == 5)
        #expect(out == input(5))
        // A slot freed in the middle is reused once the head passes it.
        #expect(j.join(eventId: 2, now: 0, into: &out)?.score == 2)
        j.add(eventId: 6, time: 0, score: 6, input: input(6))
        #expect(j.pendingCount == 3)
        #expect(j.join(eventId: 3, now: 0, into: &out)?.score == 3)
        #expect(j.join(eventId: 4, now: 0, into: &out)?.score == 4)
        #expect(j.join(eventId: 6, now: 0, into: &out)?.score == 6)
        #expect(out == input(6))
    }

    /// Randomised comparison with a dictionary + FIFO oracle of the same semantics.
    @Test func matchesOracleOnRandomOperations() {
        let cap = 64, wait: Int64 = 40
        var j = LabelJoiner(layout: layout, config: LabelJoinerConfig(capacity: cap, maxWait: wait))
        var oracle = [(id: UInt64, time: Int64)]()   // pending, arrival order
        var expired = 0, evicted = 0
        var rng = SeededGenerator(seed: 77)
        var out = ModelInput(layout: layout)
        var t: Int64 = 0
        for step in 0..<20_000 {
            t += Int64.random(in: 0...2, using: &rng)
            let limit = t - wait
            if Bool.random(using: &rng) {
                let id = UInt64.random(in: 0..<300, using: &rng)
                // Oracle: expire, replace duplicate, evict at capacity, append.
                let before = oracle.count
                oracle.removeAll { $0.time < limit }
                expired += before - oracle.count
                if let k = oracle.firstIndex(where: { $0.id == id }) { oracle.remove(at: k) }
                if oracle.count == cap { oracle.removeFirst(); evicted += 1 }
                oracle.append((id, t))
                j.add(eventId: id, time: t, score: Double(step), input: input(Int(id)))
            } else {
                let id = UInt64.random(in: 0..<300, using: &rng)
                let before = oracle.count
                oracle.removeAll { $0.time < limit }
                expired += before - oracle.count
                let k = oracle.firstIndex { $0.id == id }
                let got = j.join(eventId: id, now: t, into: &out)
                #expect((got != nil) == (k != nil), "step \(step): join of \(id)")
                if let k {
                    #expect(got?.time == oracle[k].time)
                    #expect(out == input(Int(id)))
                    oracle.remove(at: k)
                }
            }
            #expect(j.pendingCount == oracle.count)
        }
        #expect(j.counts.evicted == evicted)
        #expect(j.counts.expired == expired)
        let remaining = oracle.count
        j.expire(now: t + wait + 1)
        #expect(j.counts.expired == expired + remaining)
        #expect(j.pendingCount == 0)
    }
}
