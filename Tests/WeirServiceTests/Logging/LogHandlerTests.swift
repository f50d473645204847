import Foundation
import Logging
import Testing
@testable import WeirService

/// JSON logs: one valid object per line whatever the message; the text default stays on one line.
struct LogHandlerTests {
    @Test func jsonHandlerWritesOneValidObjectPerLine() throws {
        let out = LogOutput.capturing()
        var logger = Logger(label: "weir.test") { WeirLogHandler(label: $0, format: .json, level: .debug, output: out) }
        logger[metadataKey: "topology"] = "card-fraud"
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} unicode é 🚀 line-sep \u{2028}"
        logger.info("\(awkward)", metadata: ["partition": "3", "offset": .stringConvertible(42),
                                             "nested": ["list": ["a", "b"], "field": "amount"]])
        logger.debug("second")
        logger.trace("filtered out")
        let lines = out.lines
        #expect(lines.count == 2)
        for line in lines { #expect(!line.contains("\n")) }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["message"] as? String == awkward)
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "weir.test")
        let ts = try #require(first["ts"] as? String)
        #expect(ISO8601DateFormatter().date(from: ts.replacingOccurrences(of: #"\.\d{3}"#, with: "", options: .regularExpression)) != nil, "\(ts)")
        let meta = try #require(first["metadata"] as? [String: Any])
        #expect(meta["topology"] as? String == "card-fraud")
        #expect(meta["partition"] as? String == "3")
        #expect(meta["offset"] as? String == "42")
        let nested = try #require(meta["nested"] as? [String: Any])
        #expect(nested["list"] as? [String] == ["a", "b"])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["message"] as? String == "second")
        #expect((second["metadata"] as? [String: String]) == ["topology": "card-fraud"])  // the logger's own metadata
    }

    @Test func textHandlerKeepsOneLinePerMessage() {
        let out = LogOutput.capturing()
        let logger = Logger(label: "weir.run") { WeirLogHandler(label: $0, format: .text, level: .info, output: out) }
        logger.warning("two\nlines", metadata: ["topic": "transactions"])
        #expect(out.lines.count == 1)
        #expect(out.lines[0].hasSuffix(" warning weir.run: two\\nlines topic=transactions"), "\(out.lines)")
    }

    /// librdkafka's own stderr lines become JSON records with its level; secrets are redacted in
    /// every mode; lines that are JSON objects already pass unchanged.
    @Test func stderrGuardWrapsLibrdkafkaLinesAndRedactsSecrets() throws {
        let json = StderrGuard.rewriter(format: .json, secrets: ["hunter2", "k3y-pem-material"])
        let line = "%4|1795439793.730|CONFWARN|weir-card-fraud#producer-1| [thrd:app]: Configuration property `sasl.username` only applies when ..."
        let wrapped = try #require(try JSONSerialization.jsonObject(with: Data(json.rewrite(line).utf8)) as? [String: Any])
        #expect(wrapped["level"] as? String == "warning")
        #expect(wrapped["label"] as? String == "librdkafka")
        #expect((wrapped["message"] as? String)?.hasPrefix("[thrd:app]: Configuration property") == true)
        #expect((wrapped["metadata"] as? [String: String]) == ["client": "weir-card-fraud#producer-1", "facility": "CONFWARN"])
        let stray = try #require(try JSONSerialization.jsonObject(with: Data(json.rewrite("weir run: fatal: password hunter2 rejected").utf8)) as? [String: Any])
        #expect(stray["label"] as? String == "stderr")
        #expect(stray["message"] as? String == "weir run: fatal: password <redacted> rejected")
        let record = #"{"ts":"x","level":"info","label":"weir.run","message":"ok"}"#
        #expect(json.rewrite(record) == record)
        let text = StderrGuard.rewriter(format: .text, secrets: ["hunter2"])
        #expect(text.rewrite("%7|1|CONF|c| sasl.password=hunter2") == "%7|1|CONF|c| sasl.password=<redacted>")
    }
}
