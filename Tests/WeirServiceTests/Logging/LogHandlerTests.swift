import Foundation
import Logging
import Testing
import WeirService

/// JSON logs: one valid object per line whatever the message; the text default stays on one line.
struct LogHandlerTests {
    @Test func jsonHandlerWritesOneValidObjectPerLine() throws {
        let out = LogOutput.capturing()
        var logger = Logger(label: "weir.test") { JSONLogHandler(label: $0, level: .debug, output: out) }
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
        let logger = Logger(label: "weir.run") { TextLogHandler(label: $0, level: .info, output: out) }
        logger.warning("two\nlines", metadata: ["topic": "transactions"])
        #expect(out.lines.count == 1)
        #expect(out.lines[0].hasSuffix(" warning weir.run: two\\nlines topic=transactions"), "\(out.lines)")
    }
}
