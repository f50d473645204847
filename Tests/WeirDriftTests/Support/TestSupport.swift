import Foundation
import Testing
import WeirTestSupport
@testable import WeirDrift

/// Repository root (resolved through the dev package's symlinks).
let repoRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixtureURL(_ name: String) throws -> URL {
    let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures").appendingPathComponent(name)
    return url
}

func jsonLines(_ name: String) throws -> [[String: Any]] {
    let text = try String(contentsOf: try fixtureURL(name), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

func parseJSON(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weirdrift-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Runs scripts/checks/validate_records.py (Python `jsonschema`, Draft 2020-12) on `lines`.
/// Returns (exit status, output). The Python is ``ExternalTool/python(importing:in:)``'s: without
/// one that imports `jsonschema`, the test fails on CI and is skipped with the reason elsewhere.
func validateWithSchemas(_ lines: [String], name: String = UUID().uuidString,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, String) {
    try validateRecordsWithSchemas(lines, repoRoot: repoRoot, file: tempPath("records-\(name).jsonl"), sourceLocation: sourceLocation)
}

/// No NaN/Infinity tokens in a JSON line (JSONSerialization would also reject them).
func hasNoNonFinite(_ line: String) -> Bool {
    let bad: Set<String> = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity"]
    return !line.split(whereSeparator: { ",:[]{}".contains($0) }).contains { bad.contains($0.trimmingCharacters(in: .whitespaces)) }
}

/// Numeric monitor config with count windows and a first-N reference (test defaults).
func numericConfig(_ name: String = "x", window: Int = 1_000, reference: Int = 5_000, cap: Int = 100_000,
                   policy: DriftPolicy = DriftPolicy()) -> MonitorConfig {
    MonitorConfig(feature: name, kind: .numeric, window: .count(window), reference: .firstEvents(reference),
                  sampleCap: cap, policy: policy)
}

extension FieldMonitor {
    mutating func feedAll(_ values: [Double]) {
        values.withUnsafeBufferPointer { feed(contentsOf: $0) }
    }
}

/// Feeds events `0..<events` with `feed` (which drains and returns the records' JSON) to one monitor
/// straight through and, for each cut, to a monitor snapshotted at the cut, restored and continued:
/// the records must be the same (and a restored monitor re-serialises to the same bytes).
/// Returns the uninterrupted records.
@discardableResult
func expectSnapshotCutsGiveTheSameRecords(_ cfg: MonitorConfig, events: Int, cuts: [Int],
                                          _ feed: (inout FieldMonitor, Int) -> [String]) throws -> [String] {
    func run(_ m: inout FieldMonitor, _ r: Range<Int>) -> [String] { r.flatMap { feed(&m, $0) } }
    var straight = try FieldMonitor(cfg)
    let expected = run(&straight, 0..<events)
    for cut in cuts {
        var first = try FieldMonitor(cfg)
        var got = run(&first, 0..<cut)
        let bytes = first.snapshot()
        var restored = try FieldMonitor(cfg, restoring: bytes)
        #expect(restored.snapshot() == bytes)
        got += run(&restored, cut..<events)
        #expect(got == expected, "cut at \(cut)")
    }
    return expected
}
