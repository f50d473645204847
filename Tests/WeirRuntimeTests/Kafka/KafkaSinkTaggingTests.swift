import Testing
import WeirRuntime
import WeirTopology

/// Which runs tag their output records (docs/records.md, "Kafka headers"): with checkpoints,
/// unless `processing.output_headers: none` at least once; exactly once always (weir.txn).
@Suite struct KafkaSinkTaggingTests {
    @Test func tagsWithCheckpointsUnlessTurnedOffAtLeastOnce() {
        #expect(KafkaSink.tags(checkpointed: true, headers: .dedup, exactlyOnce: false))
        #expect(!KafkaSink.tags(checkpointed: true, headers: .none, exactlyOnce: false))
        #expect(KafkaSink.tags(checkpointed: true, headers: .none, exactlyOnce: true))
        #expect(KafkaSink.tags(checkpointed: true, headers: .dedup, exactlyOnce: true))
        #expect(!KafkaSink.tags(checkpointed: false, headers: .dedup, exactlyOnce: false))
    }
}
