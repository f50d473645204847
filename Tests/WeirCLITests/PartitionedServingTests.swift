import Foundation
import Testing
import WeirTestSupport

/// Serving with partitioned instances (docs/serving.md, "Routing"): two `weir run --partitioned`
/// instances on a 4-partition topic keyed by user, curl as the client. Every key is answered from
/// either instance (200 from its owner, 307 to the owner from the other, the same body when
/// followed), the served windows equal a brute-force count of the events file, a posted score is
/// routed by the event's key, and when a third instance joins, the moved keys are answered 503
/// (`restoring`/`moving`) or with the same values, and by their new owner after the rebalance.
@Suite(.serialized, .timeLimit(.minutes(5)), .requires(.kcat, .named("curl")))
struct PartitionedServingTests {
    static let events = 4_000
    static let users = 40

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(ok, "no free port")
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// `curl` without following redirects: status, Location and body.
    static func get(_ url: String, follow: Bool = false, post: String? = nil) throws -> (status: Int, location: String, body: String) {
        var args = ["-s", "--max-time", "10", "-w", "\n%{http_code} %{redirect_url}"]
        if follow { args.append("-L") }
        if let post { args += ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", post] }
        let out = try tool(ExternalTool.named("curl").path!, args + [url])
        let cut = out.lastIndex(of: "\n") ?? out.startIndex
        let tail = out[out.index(after: cut)...].split(separator: " ", maxSplits: 1).map(String.init)
        return (Int(tail.first ?? "") ?? -1, tail.count > 1 ? tail[1].trimmingCharacters(in: .whitespacesAndNewlines) : "", String(out[..<cut]))
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The served features by name.
    static func features(_ body: String) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for f in object(body)["features"] as? [[String: Any]] ?? [] { out[f["name"] as! String] = f }
        return out
    }

    @Test func everyKeyIsAnsweredFromEitherInstanceAndAfterARebalance() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-pserve-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        text = text.components(separatedBy: "\n").filter { !$0.contains("global_mean_5m") }.joined(separator: "\n")
            .replacingOccurrences(of: "name: card-fraud", with: "name: cfserve")
            // No idleness during the test: the served windows stay as the last events left them.
            .replacingOccurrences(of: "idleness: 10s", with: "idleness: 1h")
        try text.write(toFile: dir + "/cfserve.yaml", atomically: true, encoding: .utf8)
        let sinks = ["features", "windows", "late", "drift", "alerts", "retrain", "models", "dlq"]
        let broker = try BrokerProcess(topics: ["transactions:4", "cfserve.global:4", "cfserve.changelog:4", "cfserve.weights:1",
                                                "cfserve.global.changelog:1", "cfserve.instances:1", "cfserve.scores:4"]
                                               + sinks.map { "cfserve.\($0):1" }, dir: dir)
        try tool(weirBinary.path, ["generate", "--count", String(Self.events), "--keys", String(Self.users), "--seed", "5",
                                   "--output", dir + "/events.jsonl"])
        try tool(weirBinary.path, ["produce", dir + "/events.jsonl", "--topic", "transactions", "--brokers", broker.bootstrap,
                                   "--key-field", "user", "--timestamp-field", "ts"])
        let lines = try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8).split(separator: "\n").map { Self.object(String($0)) }
        let keys = Array(Set(lines.compactMap { $0["user"] as? String })).sorted()
        try #require(keys.count >= 10)

        var ports: [Int] = []
        func start(_ i: Int) throws -> RunProcess {
            let port = try Self.freePort()
            ports.append(port)
            return try RunProcess([dir + "/cfserve.yaml", "--brokers", broker.bootstrap, "--partitioned", "--metrics-port", String(port),
                                   "--metrics-host", "127.0.0.1", "--serving-url", "http://127.0.0.1:\(port)/",
                                   "--session-timeout-ms", "6000", "-X", "heartbeat.interval.ms=500"], dir: dir, tag: "serve\(i)")
        }
        let a = try start(0), b = try start(1)
        let bases = ports.map { "http://127.0.0.1:\($0)/" }

        // Every event scored, and both instances holding partitions (each one's record read by the other).
        let deadline = Date().addingTimeInterval(150)
        func settled(_ n: Int) throws -> Bool {
            let records = try broker.read("cfserve.instances").map { Self.object($0.value) }
            var newest: [String: [Int]] = [:]
            for r in records { newest[r["instance"] as! String] = (r["partitions"] as? [NSNumber] ?? []).map(\.intValue) }
            let holders = newest.values.filter { !$0.isEmpty }
            return holders.count == n && holders.reduce(0) { $0 + $1.count } == 4
        }
        while Date() < deadline {
            if try broker.read("cfserve.scores").count >= Self.events, try settled(2) { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        try #require(try broker.read("cfserve.scores").count >= Self.events, "not all scored: \(a.stderr.suffix(2000)) \(b.stderr.suffix(2000))")
        let instanceRecords = try broker.read("cfserve.instances").map(\.value)
        try #require(try settled(2), "the instances did not split the partitions: \(instanceRecords)")
        Thread.sleep(forTimeInterval: 1.5)  // both read each other's newest record

        // Every key from either instance: 200 here or 307 to the other, the same body when followed.
        // No late events (the brute-force count below takes every event of the window).
        #expect(try broker.read("cfserve.late").count == 0)
        var checked = 0
        var answers: [String: String] = [:]
        var local = [0, 0], redirected = [0, 0]
        for key in keys {
            var bodies: [String] = []
            for (i, base) in bases.enumerated() {
                let r = try Self.get(base + "v1/features/\(key)")
                #expect(r.status == 200 || r.status == 307, "\(key) at \(i): \(r.status) \(r.body)")
                if r.status == 307 {
                    redirected[i] += 1
                    #expect(r.location == bases[1 - i] + "v1/features/\(key)", "\(key) at \(i): redirected to \(r.location)")
                } else {
                    local[i] += 1
                }
                let followed = try Self.get(base + "v1/features/\(key)", follow: true)
                #expect(followed.status == 200 || followed.status == 404, "\(key) via \(i): \(followed.status) \(followed.body)")
                bodies.append(followed.body)
            }
            #expect(bodies[0] == bodies[1], "\(key): the two instances answer differently")
            answers[key] = bodies[0]
            // The live tumbling minute equals a brute-force count of the events file (no late events).
            let f = Self.features(bodies[0])
            if let count = f["user_count_1m"], let start = (count["start"] as? NSNumber)?.int64Value,
               let end = (count["end"] as? NSNumber)?.int64Value {
                let inWindow = lines.filter { ($0["user"] as? String) == key && (($0["ts"] as? NSNumber)?.int64Value).map { $0 >= start && $0 < end } == true }
                #expect((count["value"] as? NSNumber)?.intValue == inWindow.count, "\(key) count in [\(start), \(end))")
                checked += 1
                let amounts = inWindow.compactMap { ($0["amount"] as? NSNumber)?.doubleValue }
                if let mx = amounts.max(), let served = (f["user_max_1m"]?["value"] as? NSNumber)?.doubleValue {
                    #expect(abs(served - mx) < 1e-9, "\(key) max")
                }
            }
        }
        #expect(checked >= keys.count / 4, "only \(checked) keys had a live minute to count")
        #expect(local[0] > 0 && local[1] > 0 && redirected[0] > 0 && redirected[1] > 0, "local \(local), redirected \(redirected)")
        #expect(answers.values.filter { $0.contains("\"features\"") }.count >= keys.count / 4)

        // A score is routed by the event's key; a bad event is refused where it arrives.
        for key in keys.prefix(6) {
            var event = lines.last { ($0["user"] as? String) == key }!
            event["event_id"] = "served-\(key)"
            let json = String(decoding: try JSONSerialization.data(withJSONObject: event), as: UTF8.self)
            let scored = try bases.map { try Self.get($0 + "v1/score", follow: true, post: json) }
            #expect(scored.allSatisfy { $0.status == 200 }, "\(scored.map(\.body))")
            #expect(scored[0].body == scored[1].body)
            #expect(Self.object(scored[0].body)["key"] as? String == key)
        }
        for base in bases {
            let bad = try Self.get(base + "v1/score", post: #"{"user": 7}"#)
            #expect(bad.status == 400 && bad.body.contains("invalid_event"), "\(bad.body)")
        }

        // A third instance joins: while partitions move, answers are the same values or 503 with a
        // reason (never another status, never other values); after it, the new owner answers too.
        let c = try start(2)
        let all = ports.map { "http://127.0.0.1:\($0)/" }
        var during: [Int: Int] = [:]
        let until = Date().addingTimeInterval(120)
        var moved = false
        while Date() < until {
            for key in keys.prefix(12) {
                let r = try Self.get(bases[0] + "v1/features/\(key)", follow: true)
                during[r.status, default: 0] += 1
                #expect([200, 404, 503].contains(r.status), "\(key) during the rebalance: \(r.status) \(r.body)")
                if r.status == 503 { #expect(["restoring", "moving"].contains(Self.object(r.body)["error"] as? String ?? ""), "\(r.body)") }
                if r.status == 200 { #expect(Self.features(r.body).mapValues { "\($0["value"]!)" } == Self.features(answers[key]!).mapValues { "\($0["value"]!)" }, "\(key) changed while moving") }
            }
            if try settled(3) { moved = true; break }
        }
        #expect(moved, "the third instance got no partitions: \(c.stderr.suffix(2000))")
        Thread.sleep(forTimeInterval: 1.5)
        var servedByC = 0
        for key in keys {
            for (i, base) in all.enumerated() {
                let r = try Self.get(base + "v1/features/\(key)")
                if r.status == 200 && i == 2 { servedByC += 1 }
                let followed = try Self.get(base + "v1/features/\(key)", follow: true)
                #expect(Self.features(followed.body).mapValues { "\($0["value"]!)" } == Self.features(answers[key]!).mapValues { "\($0["value"]!)" },
                        "\(key) via \(i) after the rebalance: \(followed.status) \(followed.body)")
            }
        }
        #expect(servedByC > 0, "no key served by the new instance")
        print("partitioned serving: \(checked) keys counted, local \(local), redirected \(redirected), during the rebalance \(during), served by the third \(servedByC)")
        for r in [a, b, c] { r.process.terminate() }
        for r in [a, b, c] { #expect(r.wait(60) == 0, "\(r.stderr.suffix(2000))") }
    }
}
