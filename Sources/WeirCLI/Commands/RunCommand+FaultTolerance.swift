import ArgumentParser
import Foundation
import WeirKafka
import WeirRuntime
import WeirTopology

/// `weir run` options for checkpoints and delivery guarantees (override the topology's
/// `processing` section). See docs/fault-tolerance.md.
struct FaultToleranceOptions: ParsableArguments {
    @Option(help: "Delivery guarantee: at_least_once or exactly_once (default: the topology's processing.guarantee).")
    var guarantee: String?
    @Option(help: "Checkpoint interval in milliseconds (default: the topology's processing.checkpoint_interval_ms).")
    var checkpointInterval: Int?
    @Option(help: "Where checkpoints go: kafka (the <topology>.changelog topic), dir (--state-dir) or none.")
    var checkpoints: String?
    @Option(help: "Keep checkpoints as files in this directory (implies --checkpoints dir).")
    var stateDir: String?
    @Option(help: "This instance's name in checkpoints and transactions (default: host-pid-starttime).")
    var instanceID: String?
    @Option(help: "Consumer session timeout in milliseconds (how soon a stopped instance loses its partitions).")
    var sessionTimeoutMs: Int?

    func validate() throws {
        if let g = guarantee, ProcessingSpec.Guarantee(rawValue: g) == nil {
            throw ValidationError("--guarantee must be at_least_once or exactly_once, got '\(g)'")
        }
        if let i = checkpointInterval, i < 0 { throw ValidationError("--checkpoint-interval must be >= 0 ms") }
        if let c = checkpoints, !["kafka", "dir", "none"].contains(c) {
            throw ValidationError("--checkpoints must be kafka, dir or none, got '\(c)'")
        }
        if checkpoints == "dir" && stateDir == nil { throw ValidationError("--checkpoints dir needs --state-dir") }
        if stateDir != nil && checkpoints != nil && checkpoints != "dir" { throw ValidationError("--state-dir is for --checkpoints dir") }
        if guarantee == "exactly_once" && (stateDir != nil || checkpoints == "none" || checkpoints == "dir") {
            throw ValidationError("exactly_once keeps its checkpoints in Kafka: drop --state-dir / --checkpoints")
        }
    }

    func apply(to options: inout KafkaRunner.Options) {
        if let g = guarantee { options.guarantee = ProcessingSpec.Guarantee(rawValue: g) }
        if let i = checkpointInterval { options.checkpointInterval = .milliseconds(i) }
        if let d = stateDir {
            options.checkpoints = .directory(d)
        } else if checkpoints == "none" {
            options.checkpoints = .none
        }
        if let id = instanceID { options.instanceID = id }
        if let s = sessionTimeoutMs { options.sessionTimeoutMs = s }
    }
}

/// Runs `body`; a fenced instance or a fatal Kafka error prints one clear line and exits 2
/// (other errors propagate).
func runReportingFatal<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as CheckpointError {
        FileHandle.standardError.write(Data("weir run: fatal: \(e.description)\n".utf8))
        throw ExitCode(2)
    } catch let e as KafkaError where e.isFatal {
        FileHandle.standardError.write(Data("weir run: fatal: \(e.description)\n".utf8))
        throw ExitCode(2)
    } catch let e as CheckpointRestoreError {
        FileHandle.standardError.write(Data("weir run: fatal: \(e.description)\n".utf8))
        throw ExitCode(2)
    }
}
