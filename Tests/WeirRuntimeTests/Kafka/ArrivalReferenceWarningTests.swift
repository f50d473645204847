import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// `weir run` warns when a `first_events` drift reference is read in arrival order from several
/// partitions (it is then the first events as fetched, not the stream's), and only then.
@Suite struct ArrivalReferenceWarningTests {
    static func spec(_ edit: (String) -> String = { $0 }) throws -> TopologySpec {
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        return try TopologyLoader.parse(edit(text), file: "card-fraud.yaml")
    }

    @Test func warnsForAFirstEventsReferenceInArrivalOrderOverSeveralPartitions() throws {
        let spec = try Self.spec()
        let w = try #require(KafkaRunner.arrivalReferenceWarning(spec, partitions: 4, ordered: false, partitioned: false))
        #expect(w.contains("first_events: 20000") && w.contains("4 partitions") && w.contains("source.order: timestamp"), "\(w)")
    }

    @Test func silentWhenTheReferenceIsTheStreamsFirstEvents() throws {
        let spec = try Self.spec()
        #expect(KafkaRunner.arrivalReferenceWarning(spec, partitions: 4, ordered: true, partitioned: false) == nil)
        #expect(KafkaRunner.arrivalReferenceWarning(spec, partitions: 1, ordered: false, partitioned: false) == nil)
        #expect(KafkaRunner.arrivalReferenceWarning(spec, partitions: 4, ordered: false, partitioned: true) == nil)
        let previous = try Self.spec { $0.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {previous_window: true}") }
        #expect(KafkaRunner.arrivalReferenceWarning(previous, partitions: 4, ordered: false, partitioned: false) == nil)
    }
}
