import Foundation
import Logging
import Testing
import WeirCore
import WeirRuntime
import WeirService
import WeirTopology

/// Dead letters are logged with topic, partition, offset, field and reason, at most `limit` per
/// period, then one summary line.
struct DeadLetterLogTests {
    @Test func deadLettersLoggedWithContextAndRateLimited() throws {
        let compiled = try RuntimeMetricsTests().topology(name: "dead-letter-log-test")
        var pipeline = try Pipeline(compiled: compiled, partitions: 1)
        var sink = CountingSink()
        let out = LogOutput.capturing()
        var log = DeadLetterLog(logger: Logger(label: "weir.run") { WeirLogHandler(label: $0, format: .json, output: out) }, limit: 3, period: .seconds(3600))
        var batch = InputBatch()
        let bad = #"{"event_id":"x","ts":1700000000000,"user":"u1","amount":"ten","merchant":"fuel","device_age_days":1}"#
        for i in 0..<5 { batch.append(Array(bad.utf8), partition: 0, offset: Int64(40 + i)) }
        try pipeline.process(batch, topic: "transactions", now: 0, into: &sink)
        log.batchProcessed(pipeline, topic: "transactions")
        let records = out.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == 3)
        for (i, r) in records.enumerated() {
            let m = try #require(r["metadata"] as? [String: String])
            #expect(m["topic"] == "transactions")
            #expect(m["partition"] == "0")
            #expect(m["offset"] == "\(40 + i)")
            #expect(m["field"] == "amount")
            #expect(m["reason"] == "wrong_type")
            #expect(r["level"] as? String == "warning")
        }
        // The period ends: one line for the two not logged.
        log.period = .zero
        batch.removeAll()
        try pipeline.process(batch, topic: "transactions", now: 0, into: &sink)
        log.batchProcessed(pipeline, topic: "transactions")
        #expect(out.lines.count == 4)
        #expect(out.lines.last?.contains("2 more dead letters not logged") == true)
    }
}
