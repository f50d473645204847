import Foundation
import Testing

/// Runs `scripts/checks/validate_records.py` (Python `jsonschema`, Draft 2020-12) on `lines`,
/// written to `file`: each line against the schema its `record` field names, or against `kind`'s
/// (e.g. `score`) when given. Returns (exit status, output). The Python is
/// ``ExternalTool/python(importing:in:)``'s: without one that imports `jsonschema`, the test fails
/// on CI and is skipped with the reason elsewhere.
public func validateRecordsWithSchemas(_ lines: [String], kind: String? = nil, repoRoot: URL, file: String,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, String) {
    try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    return try runPythonCheck("scripts/checks/validate_records.py", importing: ["jsonschema"],
                              arguments: [repoRoot.appendingPathComponent("schemas").path, file] + (kind.map { [$0] } ?? []),
                              repoRoot: repoRoot, sourceLocation: sourceLocation)
}

/// Runs the repository's Python script `script` (a path from the repository root) with
/// `arguments`, under ``ExternalTool/python(importing:in:)``'s Python (missing: fails on CI,
/// skipped with the reason elsewhere). Returns (exit status, stdout and stderr).
public func runPythonCheck(_ script: String, importing modules: [String], arguments: [String],
                           repoRoot: URL = ExternalTool.repoRoot,
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, String) {
    let python = try ExternalTool.python(importing: modules).require(sourceLocation: sourceLocation)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [repoRoot.appendingPathComponent(script).path] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
