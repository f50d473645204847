// LatencyBench: end-to-end latency of `weir run` (issue 8's "end-to-end latency p50/p99 from
// produce to output at a steady 100,000 events/s"; also issue 7).
//
// Per variant (no checkpoints, at-least-once 1 s, exactly-once 1 s) and run: a fresh uncapped
// mock broker (BenchSupport.BenchBroker), `weir run` (release binary, a process) on
// benchmarks/fraud-contract.yaml with its scores sink enabled (one score record per event), an
// input producer paced at a steady rate (key = user, value = the contract event with its event
// time `ts`, Kafka timestamp = wall clock at send), and an independent consumer of the score
// topic. Latency per record = arrival of its score record at that consumer − the input's send
// (same process, same monotonic clock), matched by the score record's `partition`/`offset`
// fields and the producer's delivery reports. Exactly-once also reports when each record became
// visible to a read_committed consumer: the mock broker writes no transaction markers, so that
// is the arrival of the commit record of the record's transaction (`weir.epoch`) in the
// changelog. See benchmarks/README.md.
//
// Why it links WeirKafka (and not only processes, as FraudBench does): a paced producer that
// stamps each message with its own send time and keeps per-message send times, and a consumer
// that timestamps each arrival, need to be in one process with one clock; kcat and the Python
// loader cannot pace or stamp per message at 100k/s. weir itself still runs as a process.
import BenchSupport
import Foundation

var opts: Options
do { opts = try Options.parse(Array(CommandLine.arguments.dropFirst())) } catch {
    FileHandle.standardError.write(Data("LatencyBench: \(error)\n\n\(Options.usage)\n".utf8))
    exit(2)
}

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func loadAverage() -> String {
    guard let t = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return t.split(separator: " ").prefix(3).joined(separator: " ")
}

func fileDate(_ path: String) -> String {
    guard let d = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return "?" }
    return ISO8601DateFormatter().string(from: d)
}

/// The topology's `name:` (the changelog is `<name>.changelog`).
func topologyName(_ path: String) throws -> String {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("name:") }) else {
        throw LatencyBenchError.failed("\(path) has no top-level name:")
    }
    return line.dropFirst(5).trimmingCharacters(in: .whitespaces)
}

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("latencybench-\(getpid())").path
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

/// One variant on a fresh broker: start weir, produce paced, read outputs, stop, analyse.
@MainActor func measure(run: Int, _ v: Variant, workload: Workload, changelog: String) throws -> VariantResult {
    var r = VariantResult(run: run, name: v.name)
    r.load = loadAverage()
    r.exactlyOnce = v.exactlyOnce
    r.checkpointed = v.checkpointed
    r.targetRate = opts.rate
    let broker = try BenchBroker(binary: opts.brokerBinary)
    defer { broker.stop() }
    let weirErr = "\(scratch)/weir-\(run)-\(v.name.filter { $0.isLetter || $0.isNumber }).log"
    FileManager.default.createFile(atPath: weirErr, contents: nil)
    let weir = Process()
    weir.executableURL = URL(fileURLWithPath: opts.weir)
    // Metrics stay on (as deployed) on any free port, unless the variant sets --metrics-port.
    weir.arguments = ["run", opts.topology!, "--brokers", broker.bootstrap, "--group-id", "latencybench-\(run)-\(getpid())",
                      "--log-level", "debug"] + (v.args.contains("--metrics-port") ? [] : ["--metrics-port", "0"]) + v.args
        + (opts.fetchWaitMs.map { ["-X", "fetch.wait.max.ms=\($0)"] } ?? [])
    weir.standardOutput = FileHandle.nullDevice
    weir.standardError = FileHandle(forWritingAtPath: weirErr)
    try weir.run()
    defer { if weir.isRunning { kill(weir.processIdentifier, SIGKILL); weir.waitUntilExit() } }

    let shared = Shared()
    let reader = OutputReader(capacity: Int(opts.rate * (opts.warmupSeconds + opts.seconds)) + 30_000)
    let done = DispatchSemaphore(value: 0)
    let bootstrap = broker.bootstrap, output = opts.outputTopic, fetchWait = opts.fetchWaitMs ?? 1
    let thread = Thread {
        reader.run(bootstrap: bootstrap, outputTopic: output, fetchWaitMs: fetchWait, changelogTopic: v.checkpointed ? changelog : nil, shared: shared)
        done.signal()
    }
    thread.start()
    var produced: ProduceLog
    final class Edges: @unchecked Sendable { var start: CPUSnapshot?; var end: CPUSnapshot? }
    let edges = Edges()
    let pids = [weir.processIdentifier, broker.pid, getpid()]
    do {
        produced = try producePaced(bootstrap: broker.bootstrap, workload: workload, opts: opts, shared: shared) { starting in
            let snap = CPUSnapshot(pids: pids, threadsOf: [weir.processIdentifier])
            if starting { edges.start = snap } else { edges.end = snap }
        }
    } catch {
        shared.stop = true
        done.wait()
        throw error
    }
    // Drain: every input has its output, and (checkpoints) the newest epoch is committed. A weir
    // that fell behind keeps producing outputs: wait while it makes progress (at most 60 s).
    let drainStart = monoNs()
    var lastCount = -1, lastChange = drainStart, lastCommitted: Int64 = -1
    while monoNs() - drainStart < 60_000_000_000 && monoNs() - lastChange < 5_000_000_000 && reader.failure == nil {
        let p = reader.progress
        if p.count >= produced.sendNs.count && (!v.checkpointed || p.maxCommitted >= p.maxEpoch) { break }
        if p.count != lastCount || p.maxCommitted != lastCommitted {
            lastCount = p.count
            lastCommitted = p.maxCommitted
            lastChange = monoNs()
        }
        usleep(50_000)
    }
    r.drainSeconds = Double(monoNs() - drainStart) / 1e9
    shared.stop = true
    done.wait()
    if let f = reader.failure { r.weirNotes += "reader failed: \(f); " }
    if !shared.firstOutput { r.weirNotes += "no output within \(Int(produced.readyAfterSeconds)) s; " }
    // Graceful stop (SIGTERM: final checkpoint), bounded.
    weir.terminate()
    let stopStart = monoNs()
    while weir.isRunning && monoNs() - stopStart < 20_000_000_000 { usleep(50_000) }
    if weir.isRunning {
        kill(weir.processIdentifier, SIGKILL)
        r.weirNotes += "did not exit within 20 s of SIGTERM (killed); "
    }
    weir.waitUntilExit()
    r.weirExit = weir.terminationStatus
    let err = (try? String(contentsOfFile: weirErr, encoding: .utf8)) ?? ""
    let lines = err.split(separator: "\n")
    r.weirLastProgress = lines.last(where: { $0.contains("events") }).map { String($0.prefix(220)) } ?? ""
    parseCheckpointLog(lines, into: &r)
    let warnings = lines.filter { $0.contains("warning") || $0.contains("error") }
    if !warnings.isEmpty { r.weirNotes += "\(warnings.count) warning/error lines, first: \(warnings[0].prefix(200)); " }
    if produced.failed > 0 { r.weirNotes += "\(produced.failed) input messages failed delivery; " }
    analyse(produced, reader, into: &r)
    if let a = edges.start, let b = edges.end { r.cpu = CPUUse(from: a, to: b, weir: pids[0], broker: pids[1], bench: pids[2]) }
    try? FileManager.default.removeItem(atPath: weirErr)
    return r
}

@MainActor func report(_ r: VariantResult) {
    print("\n  \(r.name) (run \(r.run), load average \(r.load) at start)")
    let kept = (r.producerKeptUp ? "kept the rate" : "DID NOT KEEP the rate (< 99%)")
        + (r.maxBacklogMs > 100 ? ", but stalled up to \(ms(r.maxBacklogMs)) ms once (CPU starved) and caught up" : "")
    print("    input: \(Int(r.achievedRate)) events/s achieved over the measured \(fmt(opts.seconds, 0)) s (target \(Int(r.targetRate))), "
          + "max backlog \(ms(r.maxBacklogMs)) ms — producer \(kept); weir's first output \(fmt(r.readySeconds, 1)) s after start")
    print("    outputs: \(r.matched)/\(r.measured) measured inputs matched, \(r.missing) missing, \(r.duplicates) duplicates, "
          + "\(r.unmatched) unmatched, \(r.unparsed) unparsed; drained \(fmt(r.drainSeconds, 1)) s after the last input"
          + (r.missing > 0 ? " (missing = no output when the drain stopped: 60 s, or 5 s without progress)" : ""))
    print("    CPU over the window (cores): \(r.cpu.text)")
    print("    latency, produce → arrival at the consumer: \(r.arrival.text)")
    print("    latency trend over the window: \(fmt(r.slope * 1000, 1)) ms per s — "
          + (r.weirKeptUp ? "weir kept up" : "weir FELL BEHIND (backlog growing; it sustained ≈ \(Int(r.sustainedRate)) events/s)"))
    print("    latency, input CreateTime → output CreateTime (weir's send; 1 ms resolution): \(r.createTime.text)")
    if r.exactlyOnce {
        print("    latency, produce → visible to read_committed (its transaction's commit record produced, CreateTime): \(r.committed.text)"
              + (r.uncommitted > 0 ? "; \(r.uncommitted) never committed" : ""))
        print("      (with the commit record's arrival at this reader instead, which first reads the checkpoint's chunks: "
              + "p50 \(ms(r.committedArrival.p50)), p99 \(ms(r.committedArrival.p99)), max \(ms(r.committedArrival.max)) ms)")
    }
    if r.checkpointed {
        print("    checkpoints: \(r.commitCount) commit records produced in the window (CreateTime), gap mean \(ms(r.commitGapMeanMs)) ms, max \(ms(r.commitGapMaxMs)) ms"
              + (r.owners > 1 ? " (\(r.owners) owners!)" : ""))
        print("    checkpoint cost (weir's debug log, whole run): \(r.checkpointsLogged) checkpoints, mean \(ms(r.checkpointMeanMs)) ms, "
              + "max \(ms(r.checkpointMaxMs)) ms, state \(r.checkpointStateBytes / 1000) kB")
    }
    let worst = r.worst.map { w in
        "at \(fmt(w.at, 2)) s max \(ms(w.max)) ms" + (w.nextCommitMs.map { ", next commit +\(ms($0)) ms" } ?? "")
    }
    print("    worst 250 ms slices (by send time): \(worst.joined(separator: "; "))")
    if opts.timeline {
        print("    per second (p50/p99/max ms, commits): "
              + r.timeline.map { "\(ms($0.p50))/\(ms($0.p99))/\(ms($0.max))" + ($0.commits > 0 ? "c\($0.commits)" : "") }.joined(separator: " "))
    } else if let top = r.timeline.map(\.p99).max(), let low = r.timeline.map(\.p99).min() {
        print("    per-second p99 ranges \(ms(low))–\(ms(top)) ms (--timeline prints every second)")
    }
    print("    weir exit \(r.weirExit); last progress: \(r.weirLastProgress)" + (r.weirNotes.isEmpty ? "" : "\n    notes: \(r.weirNotes)"))
}

func tableRow(_ r: VariantResult) -> String {
    let eos = r.exactlyOnce ? "\(ms(r.committed.p50)) / \(ms(r.committed.p99)) / \(ms(r.committed.max))" : "–"
    let rate = "\(Int(r.achievedRate))" + (r.producerKeptUp ? "" : " (**below target**)")
        + (r.maxBacklogMs > 100 ? " (stalled ≤ \(ms(r.maxBacklogMs)) ms)" : "")
    let kept = r.weirKeptUp ? "yes" : "**no**, ≈ \(Int(r.sustainedRate))/s"
    return "| \(r.run) | \(r.name) | \(r.load) | \(rate) | \(kept) | \(ms(r.arrival.p50)) | \(ms(r.arrival.p90)) | \(ms(r.arrival.p99)) | "
        + "\(ms(r.arrival.p999)) | \(ms(r.arrival.max)) | \(eos) | \(r.matched)/\(r.measured) | \(r.checkpointed ? "\(r.commitCount)" : "–") |"
}

do {
    guard FileManager.default.isExecutableFile(atPath: opts.weir) else {
        throw LatencyBenchError.failed("no weir binary at \(opts.weir) (swift build -c release --product weir; or --weir PATH)")
    }
    if opts.topology == nil { opts.topology = try scoresTopology(from: opts.contract, into: scratch) }
    let changelog = try topologyName(opts.topology!) + ".changelog"
    let workload = try Workload(path: opts.events)
    let started = Date()
    print("LatencyBench (issue 8): end-to-end latency of weir run at a steady \(Int(opts.rate)) events/s")
    print("  date \(ISO8601DateFormatter().string(from: started)), load average \(loadAverage()), "
          + "\(ProcessInfo.processInfo.activeProcessorCount) cores")
    print("  weir \(opts.weir) (built \(fileDate(opts.weir))), topology \(opts.topology!), output topic `\(opts.outputTopic)`")
    print("  events \(opts.events) (\(workload.lines.count), key = user, ts kept; pass k over the file shifts ts by k × \(workload.cycleShiftMs) ms)")
    print("  per variant: fresh broker, weir run, trickle until its first output, \(fmt(opts.warmupSeconds, 0)) s warm-up + "
          + "\(fmt(opts.seconds, 0)) s measured at \(Int(opts.rate))/s; input linger.ms \(opts.lingerMs); \(opts.runs) run(s)")
    print("  fetch.wait.max.ms: weir \(opts.fetchWaitMs.map { "\($0) (-X)" } ?? "default (500)"), reader \(opts.fetchWaitMs ?? 1) "
          + "(the mock broker holds every empty fetch for the full wait, a real broker answers when data arrives)")
    var results: [VariantResult] = []
    for run in 1...opts.runs {
        for v in opts.variants {
            log("run \(run): \(v.name) ...")
            let r = try measure(run: run, v, workload: workload, changelog: changelog)
            report(r)
            results.append(r)
        }
    }
    print("\nMarkdown rows (latency in ms, produce → arrival at an independent consumer; exactly-once: also → visible at commit):\n")
    print("| run | weir run | load avg (1/5/15 min) | input events/s | weir kept up | p50 | p90 | p99 | p99.9 | max | exactly-once visible at commit p50 / p99 / max | outputs matched | checkpoints in window |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results { print(tableRow(r)) }
    let slow = results.filter { !$0.producerKeptUp }
    if !slow.isEmpty { print("\nWARNING: the producer did not keep \(Int(opts.rate))/s in: \(slow.map { "\($0.name) (run \($0.run))" }.joined(separator: ", "))") }
    print("\n  whole benchmark \(fmt(Date().timeIntervalSince(started), 0)) s, load average at the end \(loadAverage())")
} catch {
    log("LatencyBench: \(error)")
    try? FileManager.default.removeItem(atPath: scratch)
    exit(1)
}
try? FileManager.default.removeItem(atPath: scratch)
