import Foundation
import WeirCore
import WeirTopology

/// Runs a topology over a JSONL file (one event per line) instead of Kafka: for backtests and
/// offline checks. Line `n` (1-based) is offset `n − 1` of partition 0 of the source topic, so
/// dead letters name the line. Time is event time only (wall clock fixed at 0), so a replay is
/// deterministic.
public struct ReplayRunner {
    public var batchSize = 4096
    /// Fire windows still open at the end of the file (off: like a stream that has not ended).
    public var flushAtEnd = false
    /// Called with each `gate.calibrate` summary line when a monitor's thresholds are chosen
    /// (``Pipeline/takeNewCalibrations()``, checked after each batch and at start).
    public var onCalibration: ((String) -> Void)?

    public init(batchSize: Int = 4096, flushAtEnd: Bool = false) {
        self.batchSize = batchSize
        self.flushAtEnd = flushAtEnd
    }

    /// Processes every line of `path`; returns the pipeline (its counters and model state).
    public func run(_ compiled: CompiledTopology, input path: String, into sink: inout some OutputSink) throws -> Pipeline {
        var pipeline = try Pipeline(compiled: compiled, partitions: 1, now: 0)
        pipeline.backgroundDriftEvaluation = true
        let topic = compiled.spec.source.topics.first ?? "input"
        if let report = onCalibration { for line in pipeline.takeNewCalibrations() { report(line) } }
        guard let file = fopen(path, "rb") else { throw ReplayError.cannotOpen(path) }
        defer { fclose(file) }
        var batch = InputBatch(capacity: batchSize)
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        var offset: Int64 = 0
        defer { free(line) }
        while true {
            let n = getline(&line, &cap, file)
            if n < 0 { break }
            var len = n
            while len > 0 && (line![len - 1] == 0x0A || line![len - 1] == 0x0D) { len -= 1 }
            if len > 0 {
                batch.append(UnsafeRawBufferPointer(start: line!, count: len), partition: 0, offset: offset)
            }
            offset += 1
            if batch.count >= batchSize {
                try pipeline.process(batch, topic: topic, now: 0, into: &sink)
                batch.removeAll()
                if let report = onCalibration { for line in pipeline.takeNewCalibrations() { report(line) } }
            }
        }
        if batch.count > 0 { try pipeline.process(batch, topic: topic, now: 0, into: &sink) }
        if flushAtEnd { try pipeline.finish(into: &sink) } else { try pipeline.settle(into: &sink) }
        if let report = onCalibration { for line in pipeline.takeNewCalibrations() { report(line) } }
        return pipeline
    }
}

public enum ReplayError: Error, CustomStringConvertible {
    case cannotOpen(String)
    public var description: String {
        switch self {
        case .cannotOpen(let p): return "cannot open input file \(p)"
        }
    }
}
