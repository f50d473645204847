import CoreMetrics

/// The metrics of partitioned mode (`docs/metrics.md`), beside ``RuntimeMetrics``: how long the
/// newest task restore took, how old the weights the tasks score with were when they arrived,
/// and what the global stage holds waiting for a task. Updated per restore, per weights record
/// and per global-stage step; no per-event cost. Not thread-safe: the runner thread calls it.
final class PartitionedMetrics {
    private let restoreSeconds: Gauge
    private let restores: Counter
    private let weightsAge: Gauge
    private let globalHeldBytes: Gauge
    private let duplicatesSkipped: Counter
    private var skippedSoFar = 0

    init(topology: String) {
        let t = ("topology", topology)
        restoreSeconds = Gauge(label: "weir_task_restore_seconds", dimensions: [t])
        restores = Counter(label: "weir_task_restores_total", dimensions: [t])
        weightsAge = Gauge(label: "weir_weights_age_seconds", dimensions: [t])
        globalHeldBytes = Gauge(label: "weir_global_held_bytes", dimensions: [t])
        duplicatesSkipped = Counter(label: "weir_global_duplicates_skipped_total", dimensions: [t])
    }

    func taskRestored(seconds: Double) {
        restoreSeconds.record(seconds)
        restores.increment()
    }

    /// Age of the newest weights when a task began scoring with them (the staleness bound
    /// adds the broadcast interval: docs/scaling.md).
    func weightsApplied(ageSeconds: Double) { weightsAge.record(ageSeconds) }

    func globalStep(heldBytes: Int, skippedDuplicates: Int) {
        globalHeldBytes.record(heldBytes)
        if skippedDuplicates > skippedSoFar {
            duplicatesSkipped.increment(by: skippedDuplicates - skippedSoFar)
            skippedSoFar = skippedDuplicates
        }
    }
}
