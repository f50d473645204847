import Foundation
import Testing

/// `weir profile` writes a profile `weir replay` uses through `drift.reference: {profile: FILE}`;
/// bad input and bad profiles exit 1 naming the file (and the field).
@Suite(.timeLimit(.minutes(2)))
struct ProfileCommandTests {
    @Test func profileThenReplayAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-profile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let gen = try runWeir(["generate", "--count", "12000", "--seed", "4", "--output", dir + "/events.jsonl"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        try text.write(toFile: dir + "/first.yaml", atomically: true, encoding: .utf8)
        try text.replacingOccurrences(of: "{first_events: 20000}", with: "{profile: ref.wrpf}")
            .write(toFile: dir + "/profiled.yaml", atomically: true, encoding: .utf8)
        let p = try runWeir(["profile", dir + "/first.yaml", "--input", dir + "/events.jsonl", "--output", dir + "/ref.wrpf"])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stderr.contains("4 references: amount 12000, device_age_days 12000, merchant 12000, score 12000 (12000 model inputs)"), "\(p.stderr)")
        let r = try runWeir(["replay", dir + "/profiled.yaml", "--input", dir + "/events.jsonl", "--output-dir", dir + "/out"])
        #expect(r.status == 0, "\(r.stderr)")
        let drift = try String(contentsOfFile: dir + "/out/drift.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(drift.count == 8)   // 12,000 / 5,000 windows × 4 monitors
        #expect(drift.allSatisfy { $0.contains(#""reference_id":""#) && $0.contains("/profile/ref\"") })
        // a truncated profile: exit 1, the file named
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/ref.wrpf"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: dir + "/ref.wrpf"))
        let bad = try runWeir(["replay", dir + "/profiled.yaml", "--input", dir + "/events.jsonl", "--output-dir", dir + "/out2"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains(dir + "/ref.wrpf: not a valid reference profile (damaged or truncated)"), "\(bad.stderr)")
        // no valid event to profile
        try "{\"bad\": 1}\n".write(toFile: dir + "/junk.jsonl", atomically: true, encoding: .utf8)
        let empty = try runWeir(["profile", dir + "/first.yaml", "--input", dir + "/junk.jsonl", "--output", dir + "/x.wrpf"])
        #expect(empty.status == 1 && empty.stderr.contains("no valid event"), "\(empty.stderr)")
    }
}
