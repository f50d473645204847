import ArgumentParser
import Foundation
import WeirTopology

/// `weir validate TOPOLOGY`: exit 0, or every problem as `file:line:column: error: ...`.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a topology file and report every problem with its file, line and column."
    )

    @Argument(help: "The topology file (YAML).")
    var topology: String

    func run() throws {
        do {
            let spec = try TopologyLoader.load(path: topology)
            // What `weir run` and `weir replay` compile, so validate refuses whatever they would.
            _ = try TopologyCompiler.compile(spec)
            FileHandle.standardError.write(Data("\(topology): ok (topology '\(spec.name)': \(spec.schema.count) fields, \(spec.features.count) features\(spec.model == nil ? "" : ", a model")\(spec.drift.map { ", \($0.monitors.count) drift monitors" } ?? ""))\n".utf8))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            FileHandle.standardError.write(Data("\(error.diagnostics.count) error(s)\n".utf8))
            throw ExitCode(1)
        }
    }
}
