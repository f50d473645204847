import Foundation

/// Percentiles of a latency sample, in milliseconds.
struct Percentiles {
    var count = 0
    var p50 = 0.0, p90 = 0.0, p99 = 0.0, p999 = 0.0, max = 0.0, mean = 0.0

    /// Nearest-rank percentiles of `ns` (sorted in place).
    init(ns values: inout [Int64]) {
        guard !values.isEmpty else { return }
        values.sort()
        count = values.count
        func q(_ f: Double) -> Double {
            let i = Swift.min(values.count - 1, Swift.max(0, Int((f * Double(values.count)).rounded(.up)) - 1))
            return Double(values[i]) / 1e6
        }
        p50 = q(0.5); p90 = q(0.9); p99 = q(0.99); p999 = q(0.999)
        max = Double(values[values.count - 1]) / 1e6
        mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count) / 1e6
    }

    init() {}

    var text: String { "p50 \(ms(p50)), p90 \(ms(p90)), p99 \(ms(p99)), p99.9 \(ms(p999)), max \(ms(max)) ms (mean \(ms(mean)), n \(count))" }
}

func ms(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : x >= 10 ? String(format: "%.1f", x) : String(format: "%.2f", x) }

/// Everything measured for one variant in one run.
struct VariantResult {
    var run: Int
    var name: String
    var load = ""
    var exactlyOnce = false
    var checkpointed = false
    var targetRate = 0.0
    var achievedRate = 0.0
    var maxBacklogMs = 0.0
    var readySeconds = 0.0
    var measured = 0
    var matched = 0
    var missing = 0
    var drainSeconds = 0.0
    var duplicates = 0
    var unmatched = 0
    var unparsed = 0
    /// Arrival at the independent consumer − send of the input (monotonic clock, µs resolution).
    var arrival = Percentiles()
    /// Output CreateTime (weir's send) − input CreateTime (our send), wall-clock ms resolution.
    var createTime = Percentiles()
    /// Exactly-once: max(arrival, its transaction's commit record produced (CreateTime)) − send.
    var committed = Percentiles()
    /// The same with the commit record's arrival at the reader (an upper bound: the reader reads
    /// the checkpoint's chunks, MBs, before the commit record).
    var committedArrival = Percentiles()
    var uncommitted = 0
    var commitCount = 0
    var commitGapMeanMs = 0.0
    var commitGapMaxMs = 0.0
    var owners = 0
    /// Per measured second: (p50, p99, max) arrival latency in ms and commit records in it.
    var timeline: [(p50: Double, p99: Double, max: Double, commits: Int)] = []
    /// The worst 250 ms slices of input (by max latency): start (s into the window), max, and when
    /// the next commit record arrived after the slice began (ms).
    var worst: [(at: Double, max: Double, nextCommitMs: Double?)] = []
    /// From weir's debug log: checkpoints written, their duration (mean, max, ms) and the last state size.
    var checkpointsLogged = 0
    var checkpointMeanMs = 0.0
    var checkpointMaxMs = 0.0
    var checkpointStateBytes = 0
    var weirExit: Int32 = 0
    var weirNotes = ""
    var weirLastProgress = ""

    /// Least-squares slope of latency over send time in the measured window (s per s): 0 when
    /// weir keeps up; `rate / (1 + slope)` estimates what it sustained when it falls behind.
    var slope = 0.0
    var weirKeptUp: Bool { slope < 0.02 }
    var sustainedRate: Double { targetRate / (1 + max(0, slope)) }

    /// The input kept the target rate: ≥ 99% of it over the window (a starved producer catches
    /// up after a stall: `maxBacklogMs` says how far behind it fell).
    var producerKeptUp: Bool { achievedRate >= 0.99 * targetRate }
    var cpu = CPUUse()
}

/// Matches outputs to inputs and computes the figures.
func analyse(_ log: ProduceLog, _ reader: OutputReader, into r: inout VariantResult) {
    let measured = log.measureStart..<log.measureEnd
    r.measured = measured.count
    if log.measureLastNs > log.measureFirstNs {
        r.achievedRate = Double(measured.count - 1) / (Double(log.measureLastNs - log.measureFirstNs) / 1e9)
    }
    r.maxBacklogMs = Double(log.maxBacklog) / r.targetRate * 1000
    r.readySeconds = log.readyAfterSeconds
    r.unparsed = reader.unparsed
    // Input id by partition and offset (a fresh topic: offsets from 0).
    var byOffset: [[Int32]] = []
    for d in log.delivered {
        let p = Int(d.partition)
        while byOffset.count <= p { byOffset.append([]) }
        let o = Int(d.offset)
        if byOffset[p].count <= o { byOffset[p].append(contentsOf: repeatElement(-1, count: o + 1 - byOffset[p].count)) }
        byOffset[p][o] = d.id
    }
    // Commit record arrival per epoch (the first owner's; one weir instance runs).
    let owner = reader.commits.first?.owner
    r.owners = Set(reader.commits.map(\.owner)).count
    // When weir produced the commit record (its CreateTime, ms, on our monotonic clock); its
    // arrival here comes later: the reader first reads the checkpoint's chunk records.
    func produced(_ c: CommitSample) -> Int64 { c.createMs >= 0 ? c.createMs * 1_000_000 - log.wallMinusMonoNs : c.arrivalNs }
    var commitAt: [Int64: Int64] = [:], commitArrivalAt: [Int64: Int64] = [:]
    for c in reader.commits where c.owner == owner && commitAt[c.epoch] == nil {
        commitAt[c.epoch] = produced(c)
        commitArrivalAt[c.epoch] = c.arrivalNs
    }
    var seen = [Bool](repeating: false, count: log.sendNs.count)
    var arrival: [Int64] = [], create: [Int64] = [], committed: [Int64] = [], committedArrival: [Int64] = []
    arrival.reserveCapacity(measured.count); create.reserveCapacity(measured.count)
    var latencyById = [Int64](repeating: -1, count: measured.count)
    for s in reader.samples {
        let p = Int(s.partition), o = Int(s.offset)
        guard p < byOffset.count, o >= 0, o < byOffset[p].count, byOffset[p][o] >= 0 else { r.unmatched += 1; continue }
        let id = Int(byOffset[p][o])
        if seen[id] { r.duplicates += 1; continue }
        seen[id] = true
        guard measured.contains(id) else { continue }
        r.matched += 1
        let a = s.arrivalNs - log.sendNs[id]
        arrival.append(a)
        latencyById[id - measured.lowerBound] = a
        if s.createMs >= 0 { create.append((s.createMs - log.sendWallMs[id]) * 1_000_000) }
        if r.exactlyOnce {
            if let c = commitAt[s.epoch], let ca = commitArrivalAt[s.epoch] {
                committed.append(max(s.arrivalNs, c) - log.sendNs[id])
                committedArrival.append(max(s.arrivalNs, ca) - log.sendNs[id])
            } else {
                r.uncommitted += 1
            }
        }
    }
    r.missing = measured.count - r.matched
    // Latency trend: a backlog that grows through the window means weir is slower than the input.
    var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0, n = 0.0
    for (k, lat) in latencyById.enumerated() where lat >= 0 {
        let x = Double(log.sendNs[measured.lowerBound + k] - log.measureFirstNs) / 1e9, y = Double(lat) / 1e9
        sx += x; sy += y; sxx += x * x; sxy += x * y; n += 1
    }
    if n > 2, n * sxx - sx * sx > 0 { r.slope = (n * sxy - sx * sy) / (n * sxx - sx * sx) }
    r.arrival = Percentiles(ns: &arrival)
    r.createTime = Percentiles(ns: &create)
    if r.exactlyOnce {
        r.committed = Percentiles(ns: &committed)
        r.committedArrival = Percentiles(ns: &committedArrival)
    }
    // Checkpoint cadence during the measured window (commit records arriving in it).
    let window = log.measureFirstNs...max(log.measureFirstNs, log.measureLastNs)
    let inWindow = reader.commits.filter { $0.owner == owner }.map(produced).filter { window.contains($0) }
    r.commitCount = inWindow.count
    if inWindow.count > 1 {
        let gaps = zip(inWindow.dropFirst(), inWindow).map { Double($0 - $1) / 1e6 }
        r.commitGapMeanMs = gaps.reduce(0, +) / Double(gaps.count)
        r.commitGapMaxMs = gaps.max() ?? 0
    }
    // Timeline by send time: 1 s slices, and the worst 250 ms slices.
    let allCommits = reader.commits.filter { $0.owner == owner }.map(produced)
    func slices(_ widthNs: Int64) -> [[Int64]] {
        var out: [[Int64]] = []
        for (k, lat) in latencyById.enumerated() where lat >= 0 {
            let i = Int((log.sendNs[measured.lowerBound + k] - log.measureFirstNs) / widthNs)
            while out.count <= i { out.append([]) }
            out[i].append(lat)
        }
        return out
    }
    for (i, var s) in slices(1_000_000_000).enumerated() {
        let p = Percentiles(ns: &s)
        let from = log.measureFirstNs + Int64(i) * 1_000_000_000
        r.timeline.append((p.p50, p.p99, p.max, allCommits.filter { $0 >= from && $0 < from + 1_000_000_000 }.count))
    }
    let quarter: Int64 = 250_000_000
    let q = slices(quarter).enumerated().compactMap { (i, s) -> (Int, Int64)? in s.max().map { (i, $0) } }
    for (i, mx) in q.sorted(by: { $0.1 > $1.1 }).prefix(3) {
        // When was the next commit record produced after the slice began (checkpoint-caused
        // stalls show as a commit right after the slow records were sent)?
        let sliceStart = log.measureFirstNs + Int64(i) * quarter
        let next = allCommits.first(where: { $0 >= sliceStart }).map { Double($0 - sliceStart) / 1e6 }
        r.worst.append((Double(i) * 0.25, Double(mx) / 1e6, next))
    }
}

/// Reads weir's `--log-level debug` checkpoint lines:
/// "checkpoint epoch N: B state bytes, P partitions, D seconds".
func parseCheckpointLog(_ lines: [Substring], into r: inout VariantResult) {
    var durations: [Double] = []
    for l in lines {
        guard let e = l.range(of: "checkpoint epoch "), let b = l.range(of: " state bytes, ", range: e.upperBound..<l.endIndex),
              let sec = l.range(of: " seconds", range: b.upperBound..<l.endIndex) else { continue }
        let colon = l[e.upperBound..<b.lowerBound].range(of: ": ")
        if let c = colon, let bytes = Int(l[c.upperBound..<b.lowerBound]) { r.checkpointStateBytes = bytes }
        let head = l[b.upperBound..<sec.lowerBound]
        if let comma = head.range(of: ", ", options: .backwards), let d = Double(head[comma.upperBound...]) { durations.append(d * 1000) }
    }
    r.checkpointsLogged = durations.count
    if !durations.isEmpty {
        r.checkpointMeanMs = durations.reduce(0, +) / Double(durations.count)
        r.checkpointMaxMs = durations.max() ?? 0
    }
}
