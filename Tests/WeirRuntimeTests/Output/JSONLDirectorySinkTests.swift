import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// Dead letters stream to `dlq.jsonl` like every other output: while a replay of bad lines runs,
/// the file grows on disk and the sink's buffer stays under its threshold plus one record.
@Suite struct JSONLDirectorySinkTests {
    /// Forwards to a ``JSONLDirectorySink`` and, after every record, notes its buffered bytes and
    /// the size `dlq.jsonl` has on disk (before ``JSONLDirectorySink/close()``).
    struct WatchedSink: OutputSink {
        var base: JSONLDirectorySink
        var maxBuffered = 0
        var deadLetters = 0
        var dlqOnDisk: [Int] = []  // after every 1,000th dead letter

        mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
            try base.write(kind, key: key, value: value)
            maxBuffered = max(maxBuffered, base.bufferedBytes)
        }

        mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
            try base.deadLetter(original: original, reason: reason, field: field, source: source)
            maxBuffered = max(maxBuffered, base.bufferedBytes)
            deadLetters += 1
            if deadLetters % 1000 == 0 {
                let path = base.directory + "/dlq.jsonl"
                dlqOnDisk.append((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            }
        }
    }

    @Test func deadLettersAreWrittenWhileAReplayRuns() throws {
        // 40,000 events without their required `amount`: ~9 MB of dead letters, ~9 thresholds.
        let n = 40_000
        let dir = tempDir()
        let input = dir + "/bad.jsonl"
        var text = ""
        for i in 0..<n {
            text += #"{"event_id":"e\#(i)","ts":\#(1_700_000_000_000 + i),"user":"u\#(i % 97)","merchant":"grocery","device_age_days":3,"note":"padding padding padding padding padding padding padding"}"# + "\n"
        }
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path))
        var sink = WatchedSink(base: try JSONLDirectorySink(directory: dir + "/out"))
        let pipeline = try ReplayRunner(batchSize: 512).run(compiled, input: input, into: &sink)
        #expect(pipeline.counters.deadLetters == n)
        #expect(sink.deadLetters == n)

        // written as it went: the file grew during the run, and only the last buffer is not on disk
        let onDisk = sink.dlqOnDisk
        #expect(onDisk.count == n / 1000)
        #expect(onDisk.first ?? -1 >= 0)
        #expect(onDisk.last! > 4 * JSONLDirectorySink.flushThreshold, "\(onDisk)")
        #expect(zip(onDisk, onDisk.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(sink.maxBuffered <= JSONLDirectorySink.flushThreshold + 4096, "buffer \(sink.maxBuffered)")
        try sink.base.close()
        let total = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/out/dlq.jsonl")[.size] as? Int)
        #expect(total >= onDisk.last! && total - onDisk.last! <= JSONLDirectorySink.flushThreshold + 4096,
                "at the last dead letter only one buffer was still in memory: \(total) vs \(onDisk.last!)")

        let dlq = try readJSONL(dir + "/out/dlq.jsonl")
        #expect(dlq.count == n)
        #expect(dlq.allSatisfy { $0["field"] as? String == "amount" })
        #expect((dlq.last?["offset"] as? NSNumber)?.intValue == n - 1)
    }
}
