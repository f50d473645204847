import Foundation
import Testing
@testable import WeirTopology

/// The repository root, found from this file's path (tests read the real topology files).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct ExampleTopologyTests {
    @Test(arguments: ["topologies/card-fraud.yaml", "topologies/iot-sensors.yaml", "topologies/clickstream.yaml", "benchmarks/fraud-contract.yaml"])
    func exampleTopologyValidates(_ path: String) throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent(path).path)
        #expect(!spec.schema.isEmpty)
        #expect(spec.drift != nil)
    }

    @Test func cardFraudReadsAsDocumented() throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path)
        #expect(spec.name == "card-fraud")
        #expect(spec.source.topics == ["transactions"])
        #expect(spec.source.keyField == "user")
        #expect(spec.source.eventTimeField == "ts")
        #expect(spec.source.outOfOrdernessMs == 2000)
        #expect(spec.sinks.alerts == "card-fraud.alerts")
        #expect(spec.sinks.deadLetters == "card-fraud.dlq")
        #expect(spec.model?.type == .logistic)
        #expect(spec.model?.labels == .field("label"))
        #expect(Set(spec.drift!.monitors.map(\.field)) == ["amount", "device_age_days", "merchant", "score"])
        #expect(spec.drift!.monitors.first { $0.field == "merchant" }?.categorical == true)
        let mean = try #require(spec.features.first { $0.name == "user_mean_1m" })
        #expect(mean.kind == .windowed(window: .tumbling(sizeMs: 60_000, offsetMs: 0), by: "user", aggregate: .mean, field: "amount", parameter: nil))
        let global = try #require(spec.features.first { $0.name == "global_mean_5m" })
        #expect(global.kind == .windowed(window: .hopping(sizeMs: 300_000, hopMs: 60_000), by: nil, aggregate: .mean, field: "amount", parameter: nil))
    }

    @Test func contractTopologyExpressesTheContract() throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path)
        #expect(spec.sinks.drift == "drift" && spec.sinks.alerts == "alerts" && spec.sinks.windows == "windows")
        // The contract publishes drift, alerts and windows only: per-event scores are computed, not written.
        #expect(spec.sinks.disabled == [.scores])
        #expect(!spec.sinks.isEnabled(.scores) && spec.sinks.isEnabled(.drift))
        // Merged by message timestamp, so every run sees one sequence (the peers' log loss).
        #expect(spec.source.order == .timestamp)
        #expect(spec.drift?.reference == .firstEvents(200_000))
        #expect(spec.drift?.window == .count(events: 10_000))
        #expect(spec.drift?.gate.psi == 0.2 && spec.drift?.gate.ksPValue == 0.01)
        #expect(spec.drift?.gate.ksMinStatistic == nil)
        #expect(spec.drift?.gate.consecutive == 2)
        #expect(spec.model?.optimizer == .sgd && spec.model?.learningRate == 0.01)
        let f = try #require(spec.features.first { $0.name == "f_log_amount" })
        guard case .expression(let e) = f.kind else { Issue.record("not an expression"); return }
        #expect(e.evaluate { $0 == "amount" ? 99 : .nan } == Foundation.log1p(99) / 5)
    }

    @Test func shortFileGetsDefaults() throws {
        let spec = try TopologyLoader.parse("""
            name: tiny
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double}
            """)
        #expect(spec.sinks == SinksSpec.defaults(for: "tiny"))
        #expect(spec.processing.guarantee == .atLeastOnce)
        #expect(spec.processing.outputHeaders == .dedup)
        #expect(spec.source.eventTimeFormat == .epochMillis)
        #expect(spec.model == nil && spec.drift == nil)
        #expect(spec.state.memoryLimitBytes == nil)
    }

    @Test func outputHeadersNoneIsRead() throws {
        let spec = try TopologyLoader.parse("""
            name: tiny
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double}
            processing: {output_headers: none}
            """)
        #expect(spec.processing.outputHeaders == ProcessingSpec.OutputHeaders.none)
    }

    @Test(arguments: [("512MiB", 536_870_912), ("2GiB", 2_147_483_648), ("800MB", 800_000_000), ("1.5GB", 1_500_000_000),
                      ("64KiB", 65_536), ("1_000_000", 1_000_000)])
    func memoryLimitSizes(_ text: String, _ bytes: Int) throws {
        let spec = try TopologyLoader.parse("""
            name: tiny
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double}
            state: {memory_limit: \(text)}
            """)
        #expect(spec.state.memoryLimitBytes == bytes)
    }

    /// The drift settings of issue 18 with their defaults: `score_warmup_labels`, `max_categories`,
    /// `max_category_length` (bad values: Broken/score-warmup-labels.yaml, Broken/category-caps.yaml).
    @Test func issue18DriftSettingsAreReadWithDefaults() throws {
        let base = """
            name: tiny
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double, m: category}
            drift:
              monitors: {x: {}, m: {categorical: true}}

            """
        let d = try #require(try TopologyLoader.parse(base).drift)
        #expect(d.scoreWarmupLabels == DriftDeclaration.defaultScoreWarmupLabels && d.scoreWarmupLabels == 1_000)
        #expect(d.maxCategories == 1_000 && d.maxCategoryLength == 256)
        let e = try #require(try TopologyLoader.parse(base + "  score_warmup_labels: 250\n  max_categories: 50\n  max_category_length: 32\n").drift)
        #expect(e.scoreWarmupLabels == 250 && e.maxCategories == 50 && e.maxCategoryLength == 32)
        #expect(try TopologyLoader.parse(base + "  score_warmup_labels: 0\n").drift?.scoreWarmupLabels == 0)
    }

    /// `gate.calibrate: {false_alarm_rate: r}`: off by default, read when given (bad values and
    /// unsupported windows/references: Broken/gate-calibrate*.yaml).
    @Test func gateCalibrateIsReadAndOffByDefault() throws {
        let base = """
            name: tiny
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double}
            drift:
              monitors: {x: {}}

            """
        #expect(try TopologyLoader.parse(base).drift?.gate.calibrateFalseAlarmRate == nil)
        let d = try #require(try TopologyLoader.parse(base + "  gate: {calibrate: {false_alarm_rate: 0.001}}\n").drift)
        #expect(d.gate.calibrateFalseAlarmRate == 0.001)
    }
}

/// Each file in Broken/ declares the diagnostics it must produce in `# expect: LINE:COL: message`
/// lines; the loader must report exactly those (message as a prefix), in that order.
@Suite struct BrokenTopologyTests {
    static let dir = repoRoot.appendingPathComponent("Tests/WeirTopologyTests/Broken")
    static let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()) ?? []

    @Test func thereAreBrokenCases() { #expect(Self.files.count >= 10) }

    @Test(arguments: files)
    func brokenTopologyGivesItsSpecificErrors(_ name: String) throws {
        let path = Self.dir.appendingPathComponent(name).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expected: [(Int, Int, String)] = text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("# expect: ") else { return nil }
            let rest = line.dropFirst("# expect: ".count)
            let parts = rest.split(separator: ":", maxSplits: 2)
            return (Int(parts[0])!, Int(parts[1])!, String(parts[2].dropFirst()))
        }
        #expect(!expected.isEmpty)
        do {
            _ = try TopologyLoader.load(path: path)
            Issue.record("\(name) loaded without errors")
        } catch {
            let got = error.diagnostics
            #expect(got.count == expected.count, "got:\n\(error.description)")
            for (d, e) in zip(got, expected) {
                #expect(d.location.file == path)
                #expect(d.location.line == e.0 && d.location.column == e.1, "\(d) expected at \(e.0):\(e.1)")
                #expect(d.message.hasPrefix(e.2), "\(d.message) does not start with: \(e.2)")
            }
        }
    }
}

@Suite struct ExpressionTests {
    @Test func parsesAndEvaluatesWithPrecedence() throws {
        let e = try ExpressionParser.parse("1 + 2 * x - -3 / (y + 1)")
        let x = 4.0, y = 2.0
        let want: Double = 1 + 2 * x - (-3) / (y + 1)
        #expect(e.evaluate { $0 == "x" ? x : y } == want)
        #expect(Set(e.identifiers) == ["x", "y"])
        #expect(try ExpressionParser.parse("clip(a, 0, 1)").evaluate { _ in 7 } == 1)
        #expect(try ExpressionParser.parse("max(a, 1e-3)").evaluate { _ in 0 } == 1e-3)
    }

    @Test func errorsNameTheOffset() {
        #expect(throws: ExpressionError(message: "unexpected ')'", offset: 4)) { try ExpressionParser.parse("a + )") }
        #expect(throws: ExpressionError(message: "log1p takes 1 argument(s), got 2", offset: 0)) { try ExpressionParser.parse("log1p(a, b)") }
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse("sin(a)") }
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse("a b") }
    }
}
