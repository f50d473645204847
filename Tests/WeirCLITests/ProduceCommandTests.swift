import Foundation
import Testing
import WeirTestSupport

/// Runs `weir` with `args`; returns the exit status and stderr (stdout is discarded).
private func weirStatus(_ args: [String], timeout: TimeInterval = 60) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = weirBinary
    p.arguments = args
    let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("weir-produce-err-\(UUID().uuidString)").path
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle(forWritingAtPath: errPath)
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if p.isRunning { p.terminate(); Issue.record("weir \(args.joined(separator: " ")) timed out") }
    p.waitUntilExit()
    return (p.terminationStatus, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// A `weir broker` with the given topics; stopped by `stop()`.
private struct TestBroker {
    let process: Process
    let bootstrap: String
    let bootstrapFile: String

    init(topics: [String]) throws {
        bootstrapFile = FileManager.default.temporaryDirectory.appendingPathComponent("weir-produce-bs-\(UUID().uuidString)").path
        process = Process()
        process.executableURL = weirBinary
        process.arguments = ["broker", "--bootstrap-file", bootstrapFile] + topics.flatMap { ["--topic", $0] }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: bootstrapFile) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        bootstrap = try String(contentsOfFile: bootstrapFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: bootstrapFile)
    }
}

/// One message read back with kcat.
private struct ReadBack: Equatable {
    var partition: Int
    var offset: Int
    var key: String
    var timestamp: Int64
    var value: String
}

private func readBack(_ bootstrap: String, _ topic: String) throws -> [ReadBack] {
    // Tab-separated partition, offset, key, timestamp, value (the values contain no tabs).
    let text = try tool("kcat", ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p\\t%o\\t%k\\t%T\\t%s\\n"])
    return text.split(separator: "\n").map { row in
        let f = row.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        return ReadBack(partition: Int(f[0])!, offset: Int(f[1])!, key: f[2], timestamp: Int64(f[3])!, value: f[4])
    }
}

private func writeLines(_ lines: [String]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-produce-\(UUID().uuidString).jsonl").path
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct ProduceCommandTests {
    /// Lines with the key and timestamp fields in different positions, nested objects holding
    /// fields of the same names (which must be ignored), an escaped key and a blank line.
    static func events(_ n: Int) -> [String] {
        (0..<n).map { i in
            let user = "u\(i % 37)"
            let ts = 1_700_000_000_000 + Int64(i) * 7 - Int64(i % 5) * 1000
            switch i % 4 {
            case 0: return #"{"ts":\#(ts),"user":"\#(user)","amount":\#(Double(i) / 4),"i":\#(i)}"#
            case 1: return #"{"meta":{"user":"nested","ts":1},"amount":1.5,"user":"\#(user)","i":\#(i),"ts":\#(ts)}"#
            case 2: return #" { "list" : [ {"ts": 2}, "x,}" ] , "user" : "\#(user)" , "ts" : \#(ts) , "i" : \#(i) } "#
            default: return #"{"user":"\#(user)","ts":\#(ts),"s":"a\"b","i":\#(i)}"#
            }
        }
    }

    /// Round trip through a 3-partition topic, read back with kcat: every line once, value
    /// byte-identical, key = the top-level `user`, Kafka timestamp = `ts`, each key on one
    /// partition, and each partition's records in file order.
    @Test(.requires(.kcat))
    func roundTripReadBackWithKcat() throws {
        let broker = try TestBroker(topics: ["events:3"])
        defer { broker.stop() }
        var lines = Self.events(3_000)
        lines.insert(#"{"user":"tab\u0041","ts":1700000009999,"i":3000}"#, at: 1_500)
        lines.insert("", at: 10)
        let file = try writeLines(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try weirStatus(["produce", file, "--topic", "events", "--bootstrap-file", broker.bootstrapFile,
                                "--key-field", "user", "--timestamp-field", "ts"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("3001 records delivered to events"), "\(r.stderr)")

        let got = try readBack(broker.bootstrap, "events")
        let expected = lines.filter { !$0.isEmpty }
        #expect(got.count == expected.count)
        // Index each record by its `i` (unique per line).
        func index(_ value: String) -> Int {
            let obj = try! JSONSerialization.jsonObject(with: Data(value.utf8)) as! [String: Any]
            return (obj["i"] as! NSNumber).intValue
        }
        var byIndex: [Int: ReadBack] = [:]
        for m in got { byIndex[index(m.value)] = m }
        #expect(byIndex.count == expected.count)
        for line in expected {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let i = (obj["i"] as! NSNumber).intValue
            guard let m = byIndex[i] else { Issue.record("line with i=\(i) missing"); continue }
            #expect(m.value == line)
            #expect(m.key == obj["user"] as? String, "i=\(i)")
            #expect(m.timestamp == (obj["ts"] as! NSNumber).int64Value, "i=\(i)")
        }
        #expect(byIndex[3000]?.key == "tabA")
        // One partition per key, and all three partitions used.
        var partitionOfKey: [String: Int] = [:]
        for m in got {
            if let p = partitionOfKey[m.key] { #expect(p == m.partition, "key \(m.key)") } else { partitionOfKey[m.key] = m.partition }
        }
        #expect(Set(got.map(\.partition)) == [0, 1, 2])
        // Per partition, offsets follow file order.
        let fileOrder = Dictionary(uniqueKeysWithValues: expected.enumerated().map { (index($0.element), $0.offset) })
        for p in 0..<3 {
            let inPartition = got.filter { $0.partition == p }.sorted { $0.offset < $1.offset }
            let positions = inPartition.map { fileOrder[index($0.value)]! }
            #expect(positions == positions.sorted(), "partition \(p) out of file order")
            #expect(inPartition.map(\.offset) == Array(0..<inPartition.count))
        }
    }

    /// `--partition` sends everything to one partition; without `--timestamp-field` the
    /// timestamp is the time of sending; `--brokers` works as well as `--bootstrap-file`.
    @Test(.requires(.kcat))
    func explicitPartitionAndSendTime() throws {
        let broker = try TestBroker(topics: ["events:3"])
        defer { broker.stop() }
        let file = try writeLines(Self.events(200))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let r = try weirStatus(["produce", file, "--topic", "events", "--brokers", broker.bootstrap, "--partition", "2"])
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(r.status == 0, "\(r.stderr)")
        let got = try readBack(broker.bootstrap, "events")
        #expect(got.count == 200)
        #expect(got.allSatisfy { $0.partition == 2 })
        #expect(got.map(\.value) == Self.events(200))
        #expect(got.allSatisfy { $0.timestamp >= before && $0.timestamp <= after })
        #expect(got.allSatisfy { $0.key.isEmpty })
    }

    /// A line without the timestamp field stops the command with exit 1 and names the line;
    /// a partition the topic does not have fails delivery, and the error names topic and lines.
    @Test func failuresNameTheLineAndTopic() throws {
        let broker = try TestBroker(topics: ["events:2"])
        defer { broker.stop() }
        var lines = Self.events(10)
        lines[6] = #"{"user":"u1","amount":3}"#
        let bad = try writeLines(lines)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let r1 = try weirStatus(["produce", bad, "--topic", "events", "--brokers", broker.bootstrap,
                                 "--key-field", "user", "--timestamp-field", "ts"])
        #expect(r1.status == 1)
        #expect(r1.stderr.contains("line 7: no top-level field 'ts' for the timestamp"), "\(r1.stderr)")

        let good = try writeLines(Self.events(5))
        defer { try? FileManager.default.removeItem(atPath: good) }
        let r2 = try weirStatus(["produce", good, "--topic", "events", "--brokers", broker.bootstrap, "--partition", "7",
                                 "--delivery-timeout-ms", "5000"])
        #expect(r2.status == 1)
        // Either the send itself or the delivery report fails, depending on whether the topic's
        // metadata arrived first; both name the topic and the first line.
        #expect(r2.stderr.contains("topic events"), "\(r2.stderr)")
        #expect(r2.stderr.contains("line 1"), "\(r2.stderr)")
    }
}
