import MetricsTestKit
import Testing
import WeirCore
@testable import WeirRuntime

/// [ops] The metrics of a partitioned instance (`docs/metrics.md`): its tasks and its global
/// stage each feed ``RuntimeMetrics`` with their own ``RuntimeMetrics/Seen``, and the sums are
/// what one whole pipeline's metrics say for the same events (``SplitPipelineTests``' run: three
/// tasks and the global stage against one pipeline, each into its own metrics factory).
@Suite struct PartitionedMetricsTests {
    static func counters(_ m: TestMetrics) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for c in m.counters { out[Self.name(c.label, c.dimensions), default: 0] += c.totalValue }
        return out
    }

    static func gauges(_ m: TestMetrics, _ label: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for r in m.recorders(label: label) { out[Self.name(r.label, r.dimensions)] = r.lastValue }
        return out
    }

    static func name(_ label: String, _ dimensions: [(String, String)]) -> String {
        label + "{" + dimensions.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    @Test func tasksAndTheGlobalStageCountWhatOnePipelineCounts() throws {
        let compiled = try SplitPipelineTests.topology()
        let (wholeFactory, splitFactory) = (TestMetrics(), TestMetrics())
        let whole = RuntimeMetrics(compiled: compiled, sourceTopic: "transactions", factory: wholeFactory)
        let split = RuntimeMetrics(compiled: compiled, sourceTopic: "transactions", factory: splitFactory)
        let run = try SplitPipelineTests.run(events: 12_000, chunk: 1_000, metrics: (whole, split))

        // Every counter: events in, outputs by kind, scores (the tasks', not the global stage's
        // second scoring), labels (the global stage's, not the tasks'), drift windows per feature,
        // alerts, model decisions, late events per window.
        let (a, b) = (Self.counters(wholeFactory), Self.counters(splitFactory))
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        #expect(!a.isEmpty && differing.isEmpty, "counters differ: \(differing.map { "\($0): \(a[$0].map(String.init) ?? "none") vs \(b[$0].map(String.init) ?? "none")" })")
        func out(_ kind: String) -> Int64? { a[Self.name("weir_events_out_total", [("topology", "card-fraud"), ("kind", kind), ("topic", "card-fraud.\(kind)")])] }
        #expect(a[Self.name("weir_events_in_total", [("topology", "card-fraud"), ("topic", "transactions")])] == 12_000)
        #expect(a[Self.name("weir_model_scored_total", [("topology", "card-fraud")])] == 12_000)
        #expect((a[Self.name("weir_model_labelled_total", [("topology", "card-fraud")])] ?? 0) > 1_000)
        #expect(out("drift") == Int64(run.whole.count(.drift)) && (out("drift") ?? 0) >= 10)
        #expect(out("alerts") == Int64(run.whole.count(.alerts)) && (out("alerts") ?? 0) >= 1)
        #expect(out("scores") == Int64(run.tasks.map { $0.count(.scores) }.reduce(0, +)))

        // Gauges: the model's figures from the learning pipeline (the global stage re-scores
        // before it learns, so they are exact); window keys summed over the tasks (each user in
        // one task).
        for label in ["weir_model_version", "weir_model_prequential_log_loss", "weir_model_prequential_accuracy", "weir_drift_psi"] {
            let (x, y) = (Self.gauges(wholeFactory, label), Self.gauges(splitFactory, label))
            #expect(!x.isEmpty && x == y, "\(label): \(x) vs \(y)")
        }
        for label in ["weir_window_keys", "weir_window_open_windows"] {
            let (x, y) = (Self.gauges(wholeFactory, label), Self.gauges(splitFactory, label))
            #expect(x.count == 3 && x.values.allSatisfy { $0 > 0 } && x == y, "\(label): \(x) vs \(y)")
        }
    }
}
