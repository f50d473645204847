import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// `ActiveTerm.makePipeline`: every pipeline a term builds (at its start, and again when lost
/// partitions resume from the newest checkpoint) carries the run's settings. The second path
/// used to build a bare pipeline: after a recovery the drift metrics stopped (no monitor
/// observer) and serving requests waited through drift judgements (no serving pause).
struct TermPipelineSettingsTests {
    @Test func freshPipelinesCarryTheMetricsAndTheServingPause() throws {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path))
        var runner = KafkaRunner(options: .init(brokers: "127.0.0.1:1", groupID: "settings"))
        let bare = try ActiveTerm.makePipeline(compiled, partitions: 4, runner: runner)
        #expect(bare.monitorObserver == nil)
        #expect(bare.servingPause == nil)

        let metrics = RuntimeMetrics(compiled: compiled, sourceTopic: "transactions")
        runner.metrics = metrics
        runner.serving = ServingMailbox()
        let p = try ActiveTerm.makePipeline(compiled, partitions: 4, runner: runner)
        #expect((p.monitorObserver as? RuntimeMetrics) === metrics)
        #expect(p.servingPause != nil)
    }
}
