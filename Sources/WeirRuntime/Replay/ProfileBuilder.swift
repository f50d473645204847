import WeirCore
import WeirDrift
import WeirTopology

/// `weir profile`: a reference profile built from a file of events (typically the model's training
/// data) through the topology's own decoder, features and model, so a run with
/// `drift.reference: {profile: FILE}` compares its windows with exactly what the monitors would
/// have collected from those events.
///
/// Each monitor collects its reference from every event of the file (as `first_events: N` with N
/// the file's events: valid values, the reservoir of model inputs for the score monitor); no drift
/// window is judged. The score monitor's saved reference is its model inputs (re-scored by the
/// running model at each window close); the scores the learning model gave while profiling are
/// saved too but not used for it.
public struct ProfileBuilder {
    public var batchSize = 4096

    public init(batchSize: Int = 4096) { self.batchSize = batchSize }

    public enum BuildError: Error, CustomStringConvertible {
        case noDrift(String)
        case unsupported(String)
        public var description: String {
            switch self {
            case .noDrift(let f): return "\(f): the topology has no drift section: nothing to profile"
            case .unsupported(let d): return d
            }
        }
    }

    /// Runs `compiled` over `input` (JSONL) and returns the monitors' references, named `id`.
    /// Records the run would write are discarded. Every reference's `reference_id` becomes
    /// `<field>/profile/<id>` (kind `profile`); n, time range, cap and sketch error are kept.
    public func build(_ compiled: CompiledTopology, input: String, id: String, description: String = "") throws -> ReferenceProfile {
        guard var drift = compiled.spec.drift else { throw BuildError.noDrift(compiled.spec.file) }
        guard drift.mode == .standard else {
            throw BuildError.unsupported("\(compiled.spec.file): drift.mode contract builds its own reference; profiles need drift.mode standard")
        }
        drift.reference = .firstEvents(Int.max)
        var c = compiled
        c.spec.drift = drift
        var sink = DiscardingSink()
        var pipeline = try ReplayRunner(batchSize: batchSize, flushAtEnd: false).run(c, input: input, into: &sink)
        guard pipeline.counters.records > 0 else {
            throw BuildError.unsupported("\(input): no valid event (\(pipeline.counters.deadLetters) dead letters): nothing to profile")
        }
        var fields = pipeline.drift?.pipeline.finishReferencesNow() ?? []
        for i in fields.indices {
            fields[i].info.kind = .profile
            fields[i].info.id = "\(fields[i].feature)/profile/\(id)"
        }
        return ReferenceProfile(id: id, description: description, topology: compiled.spec.name,
                                inputNames: pipeline.graph.assembler?.names ?? [], fields: fields)
    }
}
