import Foundation
import Testing
import WeirRuntime
import WeirTopology

/// The event generators write through `WeirJSON.JSONWriter`: every event parses with Foundation's
/// parser (independent of the writer), names that need escaping come back as declared, and each
/// field has its declared JSON type.
struct GeneratorJSONTests {
    static let topology = """
        name: generator-json
        source:
          topics: [events]
          key: device
          event_time: {field: time, format: iso8601}
        schema:
          device: {type: string}
          time: {type: timestamp}
          level: {type: category, categories: ['quote " here', 'back\\slash', "tab\\tand\\u2028line", 'plain', 'é✓']}
          reading: {type: double, min: 0, max: 10}
          count: {type: int, min: 0, max: 1000}
          ok: {type: bool, required: false}
        """

    @Test func schemaEventsParseAndRoundTripTheirValues() throws {
        let spec = try TopologyLoader.parse(Self.topology, file: "generator-json.yaml")
        let categories = try #require(spec.schema.first { $0.name == "level" }?.categories)
        #expect(categories.contains("quote \" here") && categories.contains("back\\slash") && categories.contains("tab\tand\u{2028}line"))
        let gen = SchemaEventGenerator(spec: spec, seed: 5, driftAt: 500)
        var seen = Set<String>()
        for i in 0..<1_000 {
            let line = gen.event(i)
            let r = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let level = try #require(r["level"] as? String, "\(line)")
            #expect(categories.contains(level), "\(line)")
            seen.insert(level)
            #expect((r["device"] as? String)?.hasPrefix("k") == true)
            #expect((r["time"] as? String)?.hasSuffix("Z") == true)
            let reading = try #require((r["reading"] as? NSNumber)?.doubleValue, "\(line)")
            #expect((0...10).contains(reading))
            let count = try #require(r["count"] as? NSNumber, "\(line)")
            #expect(count.doubleValue == count.doubleValue.rounded())
            if let ok = r["ok"] { #expect(ok is Bool, "\(line)") }
        }
        #expect(seen == Set(categories), "every category drawn (before and after the drift)")
    }

    @Test func cardFraudEventsParse() throws {
        let gen = CardFraudGenerator(seed: 3, driftAt: 100)
        for i in 0..<300 {
            let line = gen.event(i)
            let r = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(r["event_id"] as? String == "e\(i)")
            #expect(r["user"] is String && r["merchant"] is String && r["country"] is String)
            #expect((r["amount"] as? NSNumber).map { $0.doubleValue > 0 } == true, "\(line)")
            #expect(r["ts"] is NSNumber && r["device_age_days"] is NSNumber)
        }
    }
}
