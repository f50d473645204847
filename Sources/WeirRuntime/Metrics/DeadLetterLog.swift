import Logging
import WeirCore

/// Logs dead letters with their context (topic, partition, offset, field, reason), rate-limited:
/// at most `limit` warnings per `period`, then one line saying how many more went to the
/// dead-letter topic unlogged. The dead-letter topic keeps every record; this is for operators.
///
/// - Complexity: O(dead letters in the batch); nothing per valid event.
public struct DeadLetterLog {
    public var logger: Logger
    public var limit: Int
    public var period: Duration
    private var windowStart: ContinuousClock.Instant?
    private var logged = 0
    private var suppressed = 0
    private let clock = ContinuousClock()

    public init(logger: Logger, limit: Int = 10, period: Duration = .seconds(10)) {
        self.logger = logger
        self.limit = limit
        self.period = period
    }

    /// After ``Pipeline/process(_:topic:now:into:)``: the batch's dead letters.
    public mutating func batchProcessed(_ pipeline: Pipeline, topic: String) {
        let dead = pipeline.graph.outputs.deadLetters
        let now = clock.now
        if let start = windowStart, now - start >= period {
            if suppressed > 0 {
                logger.warning("\(suppressed) more dead letters not logged in the last \(period) (all are in the dead-letter topic)",
                               metadata: ["topic": "\(topic)", "count": "\(suppressed)"])
            }
            windowStart = nil
        }
        guard !dead.isEmpty else { return }
        if windowStart == nil { windowStart = now; logged = 0; suppressed = 0 }
        for d in dead {
            guard logged < limit else { suppressed += 1; continue }
            logged += 1
            var metadata: Logger.Metadata = ["topic": "\(topic)", "partition": "\(d.partition)", "offset": "\(d.offset)",
                                             "reason": "\(d.error.reason)"]
            if let f = d.error.fieldName { metadata["field"] = "\(f)" }
            if let b = d.error.byteOffset { metadata["byte"] = "\(b)" }
            logger.warning("dead letter: \(d.error.description)", metadata: metadata)
        }
    }
}
