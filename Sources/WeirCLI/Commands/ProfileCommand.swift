import ArgumentParser
import Foundation
import WeirRuntime
import WeirTopology

/// `weir profile`: a reference profile from training data, for `drift.reference: {profile: FILE}`.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Build a drift reference profile from a JSONL file (e.g. the training data) through the topology's decoder, features and model.",
        discussion: "Every event of the input goes to each drift monitor's reference (as first_events over the whole file); the score monitor keeps the events' model inputs, re-scored by the running model at each window close. Use the file with drift.reference: {profile: FILE} (a path relative to the topology file)."
    )

    @Argument(help: "The topology file (YAML).") var topology: String
    @Option(help: "The input file, one JSON event per line.") var input: String
    @Option(help: "The profile file to write.") var output: String
    @Option(help: "The profile id (records name it in reference_id: <field>/profile/<id>; default: the output file's name).") var id: String?

    func run() throws {
        let compiled: CompiledTopology
        do {
            compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: topology))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let name = id ?? ((output as NSString).lastPathComponent as NSString).deletingPathExtension
        do {
            let profile = try ProfileBuilder().build(compiled, input: input, id: name, description: "weir profile \(input)")
            try profile.save(to: output)
            let summary = profile.fields.map { "\($0.feature) \($0.info.n)" + ($0.inputs.map { " (\($0.kept) model inputs)" } ?? "") }
            FileHandle.standardError.write(Data("weir profile: \(output): \(profile.fields.count) references: \(summary.joined(separator: ", "))\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
