// KafkaBench: Weir's producer and consumer against the uncapped benchmark broker, beside kcat and
// raw librdkafka (both of its consume paths) on the same broker in the same run.
//
// Needs `bash ../shared/bench/setup.sh` (builds /tmp/bench-bin/{mock_broker,raw_consume}) and the
// event file /tmp/bench-data/events-1000000.jsonl (gen_events.py, seed 42). See benchmarks/README.md.
import BenchSupport
import Foundation
import WeirKafka

struct Options {
    var events = "/tmp/bench-data/events-1000000.jsonl"
    var brokerBin = "/tmp/bench-bin/mock_broker"
    var rawBin = "/tmp/bench-bin/raw_consume"
    var runs = 2
    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--events": events = it.next()!
            case "--runs": runs = Int(it.next()!)!
            default: fatalError("unknown argument \(a)")
            }
        }
    }
}

let opts = Options()

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// Loads the JSONL file: per event the value bytes, the key (`user`) and the timestamp (`ts`).
struct Events {
    var data: [UInt8]
    var lines: [(start: Int, end: Int, keyStart: Int, keyEnd: Int, ts: Int64)] = []

    init(path: String) throws {
        data = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        lines.reserveCapacity(1_000_000)
        var i = 0
        let n = data.count
        let userTag = Array("\"user\":\"".utf8)
        let tsTag = Array("\"ts\":".utf8)
        while i < n {
            var j = i
            while j < n && data[j] != 0x0A { j += 1 }
            let k = Events.find(userTag, in: data, from: i, to: j)! + userTag.count
            var ke = k
            while data[ke] != 0x22 { ke += 1 }
            var t = Events.find(tsTag, in: data, from: i, to: j)! + tsTag.count
            var ts: Int64 = 0
            while data[t] >= 0x30 && data[t] <= 0x39 { ts = ts * 10 + Int64(data[t] - 0x30); t += 1 }
            lines.append((i, j, k, ke, ts))
            i = j + 1
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int, to: Int) -> Int? {
        var i = from
        while i + needle.count <= to {
            if hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// Runs a command, returns (stdout, wall seconds).
func runTool(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> (String, Double) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let start = Date()
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), Date().timeIntervalSince(start))
}

func weirProduce(_ ev: Events, bootstrap: String) throws -> Double {
    let producer = try KafkaProducer(configuration: ProducerConfiguration(
        client: KafkaConfiguration(bootstrapServers: bootstrap, properties: ["queue.buffering.max.kbytes": "2000000"]),
        lingerMs: 20, batchMessages: 10_000, queueCapacity: 2_000_000))
    let topic = try producer.topic("events")
    let secs = try ev.data.withUnsafeBytes { buf -> Double in
        try measureSeconds {
            for (i, l) in ev.lines.enumerated() {
                try producer.send(
                    to: topic,
                    key: UnsafeRawBufferPointer(rebasing: buf[l.keyStart..<l.keyEnd]),
                    value: UnsafeRawBufferPointer(rebasing: buf[l.start..<l.end]),
                    timestamp: l.ts, id: UInt64(i))
                if i & 1023 == 0 { producer.poll() }
            }
            try producer.flush(timeout: .seconds(300))
        }
    }
    precondition(producer.counts.delivered == UInt64(ev.lines.count), "not all delivered: \(producer.counts)")
    return Double(ev.lines.count) / secs
}

/// Reads every event with Weir's consumer (fresh group), touching a byte of each value.
/// Returns (rate from first message, rate for the whole run incl. group join).
/// `assign` reads the 4 partitions from the beginning without joining a group (as kcat -C does);
/// otherwise the consumer subscribes with a fresh group (as `weir run` does).
func weirConsume(n: Int, bootstrap: String, assign: Bool) throws -> (Double, Double, UInt64) {
    let clock = ContinuousClock()
    let t0 = clock.now
    // Extra librdkafka consumer properties for experiments: WEIR_BENCH_CONSUMER_PROPS="a=1,b=2".
    var extra: [String: String] = [:]
    for kv in (ProcessInfo.processInfo.environment["WEIR_BENCH_CONSUMER_PROPS"] ?? "").split(separator: ",") {
        let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
        extra[p[0]] = p.count > 1 ? p[1] : ""
    }
    let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
        client: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "weir-bench", properties: extra),
        groupID: "weir-bench-\(UInt32.random(in: 0...UInt32.max))"))
    if assign {
        try consumer.assign((0..<4).map { TopicPartitionOffset(topic: "events", partition: $0, offset: TopicPartitionOffset.beginning) })
    } else {
        try consumer.subscribe(["events"])
    }
    var got = 0
    var sum: UInt64 = 0
    var first: ContinuousClock.Instant?
    while got < n {
        try consumer.poll(timeout: .milliseconds(100)) { m in
            if first == nil { first = clock.now }
            if let v = m.value { sum &+= UInt64(v[v.count / 2]) }
            got += 1
        }
    }
    let end = clock.now
    consumer.close()
    func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
    return (Double(n) / secs(end - first!), Double(n) / secs(end - t0), sum)
}

let ev = try Events(path: opts.events)
let n = ev.lines.count
log("loaded \(n) events from \(opts.events)")
let broker = try BenchBroker(binary: opts.brokerBin)  // BenchSupport
log("benchmark broker at \(broker.bootstrap)")

let produceRate = try weirProduce(ev, bootstrap: broker.bootstrap)
log("weir producer: \(formatRate(produceRate))")

var rows: [(String, [Double])] = []
var weirAssignFirst: [Double] = [], weirAssignWhole: [Double] = []
var weirFirst: [Double] = [], weirWhole: [Double] = [], kcat: [Double] = [], rawCB: [Double] = [], rawBatch: [Double] = []
var rawCBWhole: [Double] = []
for run in 1...opts.runs {
    let (f, w, _) = try weirConsume(n: n, bootstrap: broker.bootstrap, assign: false)
    weirFirst.append(f); weirWhole.append(w)
    let (af, aw, _) = try weirConsume(n: n, bootstrap: broker.bootstrap, assign: true)
    weirAssignFirst.append(af); weirAssignWhole.append(aw)
    let (kout, kt) = try runTool("/usr/bin/kcat", ["-C", "-b", broker.bootstrap, "-t", "events", "-o", "beginning", "-e", "-q", "-f", "%S\\n"])
    let kcount = kout.split(separator: "\n").count
    precondition(kcount == n, "kcat read \(kcount) of \(n)")
    kcat.append(Double(n) / kt)
    func raw(_ cb: Bool) throws -> (Double, Double) {
        let (out, t) = try runTool(opts.rawBin, [broker.bootstrap, String(n)], env: cb ? ["CB": "1"] : [:])
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        return ((json["msgs_per_s"] as! NSNumber).doubleValue, Double(n) / t)
    }
    let (cbRate, cbWhole) = try raw(true)
    rawCB.append(cbRate); rawCBWhole.append(cbWhole)
    rawBatch.append(try raw(false).0)
    log("run \(run): weir group \(formatRate(f)) (whole \(formatRate(w))), weir assign \(formatRate(af)) (whole \(formatRate(aw))), kcat \(formatRate(kcat.last!)), raw cb \(formatRate(cbRate)), raw batch \(formatRate(rawBatch.last!))")
}

func fmt(_ xs: [Double]) -> String { xs.map { String(format: "%.3f M/s", $0 / 1e6) }.joined(separator: " / ") }
let best = { (xs: [Double]) in xs.max()! }
print("""
## KafkaBench — \(n) events (\(ev.data.count) bytes), 4 partitions, uncapped mock broker, \(opts.runs) run(s)

| what | msgs/s (per run) |
|---|---|
| Weir producer (load, key=user, ts=event time, idempotent, acks=all) | \(String(format: "%.3f M/s", produceRate / 1e6)) |
| Weir consumer, group subscription, from first message | \(fmt(weirFirst)) |
| Weir consumer, group subscription, whole run (create, join group ~3 s on the mock, read all) | \(fmt(weirWhole)) |
| Weir consumer, partitions assigned (as kcat -C), from first message | \(fmt(weirAssignFirst)) |
| Weir consumer, partitions assigned (as kcat -C), whole run | \(fmt(weirAssignWhole)) |
| raw librdkafka callback path, from first message | \(fmt(rawCB)) |
| raw librdkafka callback path, whole process | \(fmt(rawCBWhole)) |
| raw librdkafka batch API, from first message | \(fmt(rawBatch)) |
| kcat -C -e, whole process | \(fmt(kcat)) |

Targets:
- Weir consumer >= 70% of raw callback path from first message (same run, best of runs): group \(String(format: "%.0f%%", 100 * best(weirFirst) / best(rawCB))), assigned \(String(format: "%.0f%%", 100 * best(weirAssignFirst) / best(rawCB))) -> \(max(best(weirFirst), best(weirAssignFirst)) >= 0.7 * best(rawCB) ? "PASS" : "FAIL")
- Weir consumer whole run >= kcat whole process (both assign partitions directly): \(String(format: "%.2fx", best(weirAssignWhole) / best(kcat))) -> \(best(weirAssignWhole) >= best(kcat) ? "PASS" : "FAIL")
- Weir producer >= 500,000 msgs/s: \(produceRate >= 500_000 ? "PASS" : "FAIL")
""")
broker.stop()
