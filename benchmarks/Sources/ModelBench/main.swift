// ModelBench: score + learn of a 30-feature vector (25 numeric + 5 hashed categories) with
// Weir's logistic regression (SGD), versus River's predict_proba_one + learn_one on the same
// stream (scripts/bench/model_river_rate.py, run via Process).
// Targets: >= 10,000,000 events/s on one core, 0 allocations/event, >= 100x River.
// Env: WEIR_REPO (default /work/main, for the River script), WEIR_PYTHON (default the repo venv),
// MODELBENCH_PASSES, MODELBENCH_CORE_ONLY=1 (print the score+learn rates only).
import BenchSupport
import Foundation
import WeirModel
import WeirStats

let numeric = 25, categories = 5, vocab = 200, hashBits = 18
let n = 1_000_000
let passes = Int(ProcessInfo.processInfo.environment["MODELBENCH_PASSES"] ?? "") ?? 10
let riverEvents = 100_000

// Deterministic stream (WeirStats' SplitMix64).
var rng = SplitMix64(seed: 42)
@MainActor func next() -> UInt64 { rng.next() }
@MainActor func uniform() -> Double { rng.nextUnit() }

let hasher = FeatureHasher(bits: hashBits)
let slots: [CategorySlots] = (0..<categories).map { j in
    CategorySlots(name: "c\(j)", values: (0..<vocab).map { "v\($0)" }, hasher: hasher)
}
var xs = [Double](repeating: 0, count: n * numeric)
var cats = [Int32](repeating: 0, count: n * categories)
var ys = [Double](repeating: 0, count: n)
let trueW = (0..<numeric).map { _ in uniform() * 2 - 1 }
let catEffect = (0..<vocab).map { _ in uniform() - 0.5 }
for i in 0..<n {
    var z = -0.3
    for f in 0..<numeric { let v = (uniform() * 2 - 1) * 1.5; xs[i * numeric + f] = v; z += trueW[f] * v }
    for j in 0..<categories { let id = Int(next() % UInt64(vocab)); cats[i * categories + j] = Int32(id); z += catEffect[id] }
    ys[i] = uniform() < 1 / (1 + exp(-z)) ? 1 : 0
}

let layout = FeatureLayout(numericCount: numeric, sparseDimension: hasher.dimension, sparseCapacity: categories)
var model = LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01))
var input = ModelInput(layout: layout)
var sink = 0.0

/// The stream, passed explicitly so the hot loops touch no globals.
/// `slotTable[j * vocab + id]` is the precomputed hashed slot of category `j`'s value `id`
/// (what a topology adapter keeps per interned category id: no string hashing per event).
struct Stream {
    let xs: [Double], cats: [Int32], ys: [Double], slotTable: [Int32], numeric: Int, categories: Int, vocab: Int

    @inline(__always) func fill(_ input: inout ModelInput, _ i: Int) {
        xs.withUnsafeBufferPointer { xb in
            cats.withUnsafeBufferPointer { cb in
                slotTable.withUnsafeBufferPointer { st in
                    input.fill { nb, sparse in
                        let src = xb.baseAddress! + i &* numeric
                        let dst = nb.baseAddress!
                        for f in 0..<numeric { dst[f] = src[f] }
                        let c = cb.baseAddress! + i &* categories, t = st.baseAddress!
                        for j in 0..<categories { sparse.append(index: t[j &* vocab &+ Int(c[j])]) }
                    }
                }
            }
        }
    }
}
let stream = Stream(xs: xs, cats: cats, ys: ys, slotTable: slots.flatMap { Array($0.slots) }, numeric: numeric,
                    categories: categories, vocab: vocab)

@inline(never) func scoreLearn<O: OnlineOptimizer>(_ model: inout LinearModel<O>, _ input: inout ModelInput, _ s: Stream, _ count: Int) -> Double {
    var acc = 0.0
    for i in 0..<count {
        s.fill(&input, i)
        acc += model.predictThenLearn(input, label: s.ys[i])
    }
    return acc
}
@MainActor func runPass(_ count: Int) { sink += scoreLearn(&model, &input, stream, count) }

runPass(10_000)  // warm-up (first learn makes the weights unique)
var best = Double.infinity
for _ in 0..<passes { best = min(best, measureSeconds { runPass(n) }) }
let rate = Double(n) / best
// The same on prepared views: a ring of 4,096 filled ModelInputs (excludes the fill).
let ringSize = 4_096
var ring = [ModelInput](repeating: ModelInput(layout: layout), count: ringSize)
for k in 0..<ringSize { stream.fill(&ring[k], k) }
@inline(never) func scoreLearnPrepared(_ model: inout LinearModel<SGD>, _ ring: [ModelInput], _ ys: [Double], _ count: Int) -> Double {
    var acc = 0.0
    for i in 0..<count { acc += model.predictThenLearn(ring[i & 4_095], label: ys[i & 4_095]) }
    return acc
}
var preparedBest = Double.infinity
for _ in 0..<passes { preparedBest = min(preparedBest, measureSeconds { sink += scoreLearnPrepared(&model, ring, ys, n) }) }
let preparedRate = Double(n) / preparedBest

// MODELBENCH_CORE_ONLY=1: print only the score+learn rate (for profiling); MODELBENCH_PASSES=k.
if ProcessInfo.processInfo.environment["MODELBENCH_CORE_ONLY"] != nil {
    print("score+learn \(formatRate(rate)); on prepared views \(formatRate(preparedRate))")
    exit(0)
}
let allocs = countAllocations { runPass(100_000) }

// Other optimisers on the same path (informational).
func otherRate<O: OnlineOptimizer>(_ opt: O) -> Double {
    var m = LinearModel(config: LinearModelConfig(layout: layout), optimizer: opt)
    var inp = ModelInput(layout: layout)
    var acc = scoreLearn(&m, &inp, stream, 10_000)
    let t = measureSeconds { acc += scoreLearn(&m, &inp, stream, n) }
    if acc.isNaN { print("(nan)") }
    return Double(n) / t
}
let adagradRate = otherRate(AdaGrad())
let ftrlRate = otherRate(FTRLProximal())

// Full prequential pipeline: OnlineLearner.scoreAndLearn (metrics, buffer, gate, no drift detector).
var learner = OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01)),
                            version: ModelVersion(modelId: "bench"), freshOptimizer: SGD(lr: 0.01),
                            detector: NoDriftDetector())
@inline(never) func learnerLoop(_ l: inout OnlineLearner<SGD, NoDriftDetector>, _ input: inout ModelInput, _ s: Stream, _ count: Int) -> Double {
    var acc = 0.0
    for i in 0..<count {
        s.fill(&input, i)
        acc += l.scoreAndLearn(input: &input, label: s.ys[i], time: Int64(i))
    }
    return acc
}
@MainActor func runLearner(_ count: Int) { sink += learnerLoop(&learner, &input, stream, count) }
runLearner(10_000)
let learnerSeconds = measureSeconds { runLearner(n) }
let learnerRate = Double(n) / learnerSeconds
let learnerAllocs = countAllocations { runLearner(100_000) }

// Delayed labels: score on arrival into the LabelJoiner, label joined 1,000 events later.
var delayed = OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01)),
                            version: ModelVersion(modelId: "bench"), freshOptimizer: SGD(lr: 0.01),
                            detector: NoDriftDetector(), config: OnlineLearnerConfig(joiner: LabelJoinerConfig(capacity: 4096)))
@inline(never) func delayedLoop(_ l: inout OnlineLearner<SGD, NoDriftDetector>, _ input: inout ModelInput, _ s: Stream, _ count: Int) -> Double {
    var acc = 0.0
    for i in 0..<count {
        s.fill(&input, i)
        acc += l.score(eventId: UInt64(i), time: Int64(i), input: &input)
        if i >= 1000 { l.applyLabel(eventId: UInt64(i - 1000), label: s.ys[i - 1000], now: Int64(i)) }
    }
    return acc
}
@MainActor func runDelayed(_ count: Int) { sink += delayedLoop(&delayed, &input, stream, count) }
runDelayed(10_000)
delayed = OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01)),
                        version: ModelVersion(modelId: "bench"), freshOptimizer: SGD(lr: 0.01),
                        detector: NoDriftDetector(), config: OnlineLearnerConfig(joiner: LabelJoinerConfig(capacity: 4096)))
runDelayed(2_000)
let delayedSeconds = measureSeconds { runDelayed(n) }
let delayedRate = Double(n) / delayedSeconds
let delayedAllocs = countAllocations { runDelayed(100_000) }

// Weir's prequential log loss on the River events (same algorithm: should agree with River's).
var check = LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01))
var checkMetrics = PrequentialMetrics()
for i in 0..<riverEvents {
    stream.fill(&input, i)
    checkMetrics.update(p: check.predictThenLearn(input, label: ys[i]), y: ys[i])
}

// River on the first `riverEvents` events of the same stream.
var riverRate: Double?
var riverLine = "not run"
do {
    let csv = FileManager.default.temporaryDirectory.appendingPathComponent("weir-modelbench-\(getpid()).csv")
    var text = (0..<numeric).map { "f\($0)" }.joined(separator: ",") + "," + (0..<categories).map { "c\($0)" }.joined(separator: ",") + ",y\n"
    for i in 0..<riverEvents {
        var fields = [String]()
        for f in 0..<numeric { fields.append("\(xs[i * numeric + f])") }
        for j in 0..<categories { fields.append("v\(cats[i * categories + j])") }
        fields.append(ys[i] == 1 ? "1" : "0")
        text += fields.joined(separator: ",") + "\n"
    }
    try text.write(to: csv, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: csv) }
    let script = URL(fileURLWithPath: ProcessInfo.processInfo.environment["WEIR_REPO"] ?? "/work/main")
        .appendingPathComponent("scripts/bench/model_river_rate.py")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["WEIR_PYTHON"] ?? "/work/main/.venv/bin/python")
    p.arguments = [script.path, csv.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    riverLine = out.trimmingCharacters(in: .whitespacesAndNewlines)
    let parts = riverLine.split(separator: " ")
    if let i = parts.firstIndex(of: "rate"), i + 1 < parts.count { riverRate = Double(parts[i + 1]) }
} catch {
    riverLine = "failed: \(error)"
}

func verdict(_ ok: Bool) -> String { ok ? "PASS" : "FAIL" }
print("ModelBench — logistic regression, SGD(0.01), 25 numeric + 5 hashed categories (2^\(hashBits) buckets)")
print("  score + learn (LinearModel.predictThenLearn, incl. filling the input view): \(formatRate(rate)) (best of \(passes) × \(n))  target >= 10 M/s: \(verdict(rate >= 1e7))")
print("  score + learn on prepared views (ring of 4,096 filled inputs, no fill): \(formatRate(preparedRate))")
if let a = allocs {
    print("  allocations: \(a) in 100,000 events (\(Double(a) / 1e5)/event)  target 0: \(verdict(a == 0))")
} else {
    print("  allocations: not measured (run with LD_PRELOAD=.../libMallocInterposerSwift.so)")
}
print("  same with AdaGrad: \(formatRate(adagradRate)); FTRL-Proximal: \(formatRate(ftrlRate)) (one pass each)")
print("  OnlineLearner.scoreAndLearn (prequential metrics + window + retrain buffer): \(formatRate(learnerRate)); allocations \(learnerAllocs.map { "\($0) in 100,000" } ?? "n/a")")
print("  OnlineLearner score → LabelJoiner → applyLabel (labels 1,000 events late): \(formatRate(delayedRate)); allocations \(delayedAllocs.map { "\($0) in 100,000" } ?? "n/a")")
print("  River 0.26.1 predict_proba_one + learn_one on first \(riverEvents): \(riverLine)")
if let r = riverRate {
    let ratio = rate / r
    let distinctSlots = Set(slots.flatMap { Array($0.slots) }).count
    print("  same events, Weir prequential log loss: \(checkMetrics.logLoss) (River's above; Weir hashes the \(categories * vocab) category values into \(distinctSlots) distinct slots, River keeps names apart)")
    print("  ratio Weir/River: \(Int(ratio.rounded()))x  target >= 100x: \(verdict(ratio >= 100))")
}
if sink.isNaN { print("(sink)") }
