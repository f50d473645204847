// CoreBench: the workload contract's feature step (shared/bench/README.md) in memory, no Kafka:
// decode JSON → per-user 60 s tumbling (count, sum, mean, max) → global 5 min / 1 min hopping
// (count, sum, mean, max, labeled, positives) → the contract's feature vector.
// Reports events/s on one core, allocations per event (steady state), bytes of state per key
// per window, the contract checksums, and the Python peer's "features" phase in the same run.
import BenchSupport
import Foundation
import WeirCore

let n = Int(ProcessInfo.processInfo.environment["WEIR_BENCH_N"] ?? "") ?? 1_000_000
let dataPath = "/tmp/bench-data/events-\(n).jsonl"
let python = "/work/main/.venv/bin/python"
let benchDir = "/work/shared/bench"

if !FileManager.default.fileExists(atPath: dataPath) {
    print("generating \(dataPath) ...")
    try? FileManager.default.createDirectory(atPath: "/tmp/bench-data", withIntermediateDirectories: true)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["\(benchDir)/gen_events.py", "\(n)", dataPath]
    try p.run(); p.waitUntilExit()
}
guard let data = FileManager.default.contents(atPath: dataPath) else { print("cannot read \(dataPath)"); exit(1) }
let bytes = [UInt8](data)
let lineStarts: [Int] = {
    var s: [Int] = [0]
    s.reserveCapacity(n + 1)
    for (i, b) in bytes.enumerated() where b == 10 { s.append(i + 1) }
    if s.last != bytes.count { s.append(bytes.count) }
    return s
}()
let events = lineStarts.count - 1
/// WEIR_BENCH_PREFETCH=d overrides StreamGraph.prefetchDistance (0 = no prefetch);
/// WEIR_BENCH_PER_MESSAGE=1 feeds messages one by one (no batch decode, no look-ahead).
let prefetchOverride = Int(ProcessInfo.processInfo.environment["WEIR_BENCH_PREFETCH"] ?? "")
let variant = ProcessInfo.processInfo.environment["WEIR_BENCH_VARIANT"] ?? ""  // exploration only: nofeat, noglobal
let perMessage = ProcessInfo.processInfo.environment["WEIR_BENCH_PER_MESSAGE"] != nil
print("CoreBench: \(events) events, \(bytes.count) bytes (\(bytes.count / max(events, 1)) B/event) from \(dataPath)")

let merchants = ["grocery", "fuel", "restaurant", "travel", "electronics", "fashion", "pharmacy", "entertainment",
                 "utilities", "gaming", "jewelry", "crypto", "gift_cards", "home", "auto", "education", "health",
                 "sports", "books", "pets"]
let countries = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "BR", "IN"]

func makeGraph() throws -> StreamGraph {
    let schema = try Schema([
        .timestamp("ts"), .string("user"), .double("amount", min: 0),
        .category("merchant", allowed: merchants), .category("country", allowed: countries),
        .int("device_age_days", min: 0), .int("label", required: false, min: 0, max: 1),
    ])
    let spec = GraphSpec(
        schema: schema,
        time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 2000, partitionCount: 1)),
        windows: variant == "noglobal" ? [
            WindowSpec(name: "user", keyBy: "user", kind: .tumbling(size: 60_000), allowedLateness: 2000,
                       aggregates: [.count(), .sum("amount"), .mean("amount"), .max("amount")], emitResults: false)] : [
            WindowSpec(name: "user", keyBy: "user", kind: .tumbling(size: 60_000), allowedLateness: 2000,
                       aggregates: [.count(), .sum("amount"), .mean("amount"), .max("amount")], emitResults: false),
            WindowSpec(name: "global", keyBy: nil, kind: .hopping(size: 300_000, hop: 60_000),
                       aggregates: [.count(), .sum("amount"), .mean("amount"), .max("amount"),
                                    .count("labeled", field: "label"), .sum("label", as: "positives")]),
        ],
        features: variant == "nofeat" ? [.window("user", column: "count", scale: 0.1, name: "user_count/10"),
                                         .window("user", column: "mean", scale: 0.01, name: "user_mean/100")] : [
            .field("amount", scale: 0.01, name: "amount/100"), .log1p("amount", scale: 0.2, name: "log1p(amount)/5"),
            .field("device_age_days", scale: 0.001, name: "device_age_days/1000"),
            .window("user", column: "count", scale: 0.1, name: "user_count/10"),
            .window("user", column: "mean", scale: 0.01, name: "user_mean/100"),
            .oneHot("merchant", prefix: "m_"),
        ],
        batchCapacity: 1024)
    var g = try StreamGraph(spec, now: 0)
    if let d = prefetchOverride { g.prefetchDistance = d }
    return g
}

struct RunResult {
    var seconds = 0.0
    var cpuSeconds = 0.0
    var userCountSum = 0.0
    var userMeanSum = 0.0
    var globalWindows = 0
    var globalCountSum = 0.0
    var late = 0
    var dead = 0
    var allocs: Int? = nil
    var allocEvents = 0
    var userBytesPerWindow = 0.0
    var globalBytesPerWindow = 0.0
    var userLiveWindows = 0
    var userKeys = 0
}

func run(measureAllocs: Bool) throws -> RunResult {
    var g = try makeGraph()
    var r = RunResult()
    let batch = 1024
    let ucol = g.assembler!.names.firstIndex(of: "user_count/10")!
    let mcol = g.assembler!.names.firstIndex(of: "user_mean/100")!
    let dim = g.assembler!.names.count
    let gIdx = g.windowIndex("global") ?? -1
    var uc = 0.0, um = 0.0
    func consume(_ g: inout StreamGraph) {
        let f = g.outputs.features
        f.withValues { v in
            for i in 0..<f.count { uc += v[i * dim + ucol]; um += v[i * dim + mcol] }
        }
        let w = g.outputs.windowResults
        for i in 0..<w.count where gIdx >= 0 && Int(w.window[i]) == gIdx && w.kind[i] == .onTime {
            r.globalWindows += 1
            r.globalCountSum += w.values[Int(w.valueOffsetOf(i))]
        }
        r.late += g.outputs.late.count
        r.dead += g.outputs.deadLetters.count
    }
    let half = (events / 2 / batch) * batch
    bytes.withUnsafeBytes { all in
        func chunk(_ lo: Int, _ hi: Int) {
            var i = lo
            while i < hi {
                let end = min(i + batch, hi)
                g.clearOutputs()
                if perMessage {
                    for j in i..<end {
                        let m = UnsafeRawBufferPointer(rebasing: all[lineStarts[j]..<max(lineStarts[j], lineStarts[j + 1] - 1)])
                        g.process(m, partition: 0, offset: Int64(j), now: 0)
                    }
                } else {
                    // the batch API (what Pipeline uses via InputBatch), on the file's bytes in
                    // place: message j is line j with its '\n' (trailing whitespace is allowed)
                    lineStarts.withUnsafeBufferPointer { ls in
                        g.process(messages: all, starts: UnsafeBufferPointer(rebasing: ls[i...end]), partition: 0,
                                  firstOffset: Int64(i), now: 0)
                    }
                }
                consume(&g)
                i = end
            }
        }
        if measureAllocs {
            chunk(0, half)
            r.allocs = countAllocations { chunk(half, events) }
            r.allocEvents = events - half
        } else {
            let c0 = threadCPUSeconds()
            r.seconds = measureSeconds { chunk(0, events) }
            r.cpuSeconds = threadCPUSeconds() - c0
        }
    }
    r.userCountSum = uc * 10
    r.userMeanSum = um * 100
    let u = g.windows[g.windowIndex("user")!]
    r.userBytesPerWindow = Double(u.stateBytes) / Double(max(1, u.liveWindows))
    r.userLiveWindows = u.liveWindows
    r.userKeys = u.keyCount
    if gIdx >= 0 {
        let gw = g.windows[gIdx]
        r.globalBytesPerWindow = Double(gw.stateBytes) / Double(max(1, gw.liveWindows))
    }
    return r
}

func pythonFeaturesPeer() -> Double? {
    let script = """
    import json, sys, time
    sys.path.insert(0, '\(benchDir)')
    import workload as W
    events = [json.loads(l) for l in open('\(dataPath)', 'rb')]
    uw = W.UserWindows(); hop = W.GlobalHopping(1, lambda *a: None)
    t0 = time.perf_counter()
    for ev in events:
        uw.update(ev['user'], ev['ts'], ev['amount'])
        hop.add(0, ev['ts'], ev['amount'], ev.get('label'))
    dt = time.perf_counter() - t0
    print(len(events) / dt)
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { return nil }
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Double(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}

func decodeOnly() throws -> Double {
    let g = try makeGraph()
    var dec = RecordDecoder(schema: g.spec.schema)
    var batch = RecordBatch(fieldCount: g.spec.schema.count, capacity: 1024)
    var bad = 0
    let c0 = threadCPUSeconds()
    bytes.withUnsafeBytes { all in
        var i = 0
        while i < events {
            batch.removeAll()
            for j in i..<min(i + 1024, events) {
                let m = UnsafeRawBufferPointer(rebasing: all[lineStarts[j]..<max(lineStarts[j], lineStarts[j + 1] - 1)])
                do { _ = try dec.decode(m, into: &batch, partition: 0, offset: Int64(j)) } catch { bad += 1 }
            }
            i += 1024
        }
    }
    let dt = threadCPUSeconds() - c0
    if bad > 0 { print("decode errors: \(bad)") }
    return Double(events) / dt
}
if ProcessInfo.processInfo.environment["WEIR_BENCH_PROFILE"] != nil {
    // one full pass only (for callgrind / perf)
    let r = try run(measureAllocs: false)
    print("profile pass: \(r.seconds) s, sum user_count \(r.userCountSum)")
    exit(0)
}
if let k = Int(ProcessInfo.processInfo.environment["WEIR_BENCH_TIMED_RUNS"] ?? "") {
    // A/B comparisons on a shared machine: k timed passes, min and median thread CPU
    var cpu: [Double] = []
    for _ in 0..<max(1, k) { cpu.append(try run(measureAllocs: false).cpuSeconds) }
    cpu.sort()
    print(String(format: "timed passes: %d, thread CPU min %.3f s (%@), median %.3f s", cpu.count, cpu[0],
                 formatRate(Double(events) / cpu[0]), cpu[cpu.count / 2]))
    exit(0)
}
if ProcessInfo.processInfo.environment["WEIR_BENCH_DECODE_ONLY"] != nil {
    // decoder iterations: five decode-only passes
    print("decode only: " + (try (0..<5).map { _ in formatRate(try decodeOnly()) }).joined(separator: ", "))
    exit(0)
}
let decodeRate = max(try decodeOnly(), try decodeOnly())

let warm = try run(measureAllocs: false)
let timed = try run(measureAllocs: false)
let best = min(warm.seconds, timed.seconds)
let wallRate = Double(events) / best
let bestCPU = min(warm.cpuSeconds, timed.cpuSeconds)
let rate = Double(events) / bestCPU
let alloc = try run(measureAllocs: true)
let perEvent = alloc.allocs.map { Double($0) / Double(alloc.allocEvents) }

func pf(_ ok: Bool) -> String { ok ? "PASS" : "FAIL" }
print("")
print("decode + per-user 60 s tumbling + global 5m/1m hopping + feature vector (1 core, release):")
print("  wall: \(String(format: "%.3f", warm.seconds)) s, \(String(format: "%.3f", timed.seconds)) s -> best \(formatRate(wallRate)) (shared machine: wall time includes waiting for a core)")
print("  thread CPU: \(String(format: "%.3f", warm.cpuSeconds)) s, \(String(format: "%.3f", timed.cpuSeconds)) s -> best \(formatRate(rate)) per core  [target >= 2.00 M/s: \(pf(rate >= 2_000_000))]")
print("  decode only (JSON → record batch): \(formatRate(decodeRate)) per core")
if let pe = perEvent {
    print("  allocations (steady state, 2nd half, \(alloc.allocEvents) events): \(alloc.allocs!) = \(String(format: "%.5f", pe))/event  [target 0/event: \(pf(pe < 0.001))]")
} else {
    print("  allocations: n/a (run with LD_PRELOAD=.../libMallocInterposerSwift.so)")
}
print("  state: user window \(String(format: "%.1f", timed.userBytesPerWindow)) B per key-window (\(timed.userLiveWindows) live windows, \(timed.userKeys) keys at end)  [target < 300: \(pf(timed.userBytesPerWindow < 300))]")
print("         global window \(String(format: "%.1f", timed.globalBytesPerWindow)) B per live window")
if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
    print("  machine load average (1/5/15 min): \(load.split(separator: " ").prefix(3).joined(separator: " ")) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
}
if let rss = peakRSSBytes() { print("  peak RSS: \(rss / 1_048_576) MiB (includes the \(bytes.count / 1_048_576) MiB input)") }
print("")
print("contract checksums (N=1M):")
print("  sum user_count = \(String(format: "%.2f", timed.userCountSum)) (expect 3956343) \(pf(abs(timed.userCountSum - 3_956_343) < 0.5 || events != 1_000_000))")
print("  sum user_mean  = \(String(format: "%.2f", timed.userMeanSum)) (expect 56753860.86) \(pf(abs(timed.userMeanSum - 56_753_860.86) < 0.05 || events != 1_000_000))")
print("  global windows = \(timed.globalWindows) (expect 16), sum count = \(Int(timed.globalCountSum)) (expect 4104973) \(pf((timed.globalWindows == 16 && Int(timed.globalCountSum) == 4_104_973) || events != 1_000_000))")
print("  late = \(timed.late) (expect 0), dead letters = \(timed.dead) (expect 0)")
print("")
if ProcessInfo.processInfo.environment["WEIR_BENCH_NO_PEER"] == nil, let peer = pythonFeaturesPeer() {
    print("peer: river/Python in memory, features phase (pre-parsed dicts, no decode): \(formatRate(peer))")
    print("  Weir / peer = \(String(format: "%.1f", rate / peer))x (Weir includes JSON decoding)")
} else {
    print("peer: not run")
}
