import Foundation
import Testing
import WeirDrift
import WeirStats
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `drift.reference: {profile: FILE}` and `weir profile` (ProfileBuilder): a profile of the first N
/// events gives the drift records of `first_events: N`; bad profiles are errors naming the file and
/// the field.
@Suite struct ProfileReferenceTests {
    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func replay(topology path: String, input: String, out: String) throws -> [[String: Any]] {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: path))
        var sink = try JSONLDirectorySink(directory: out)
        _ = try ReplayRunner(batchSize: 512).run(compiled, input: input, into: &sink)
        try sink.close()
        let text = try String(contentsOfFile: out + "/drift.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// A value parsed by JSONSerialization as sorted-key JSON text (exact: numbers round-trip).
    static func canonical(_ v: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys]), as: UTF8.self)
    }

    static func profile(topology path: String, input: String, output: String, id: String = "train") throws -> ReferenceProfile {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: path))
        let p = try ProfileBuilder(batchSize: 512).build(compiled, input: input, id: id)
        try p.save(to: output)
        return p
    }

    /// The demo topology on a generated stream (40,000 events, drift injected at 30,000): a profile
    /// of its first 20,000 events (`ProfileBuilder`, saved and loaded through the file, a path
    /// relative to the topology) gives, window for window, the records of `first_events: 20000`
    /// over the same stream: every field of every drift record (statistics, histograms, quality,
    /// sampling, `scored_by`, `n_reference`, the reference's n, time range, cap) is equal, except
    /// what must differ: the profile run judges the 4 windows of the reference events too, so its
    /// window k + 4 is window k (`window`, `window_start`, `window_end` shifted by 4 and 20,000),
    /// and the reference is named `<field>/profile/train` (kind `profile`). The score monitor is
    /// re-scored from the profile's model inputs: its records (under the same model) are equal.
    /// (Windows here are below the sample cap; beyond it, reservoir draws would continue from
    /// different random states in the two runs.)
    @Test func profileOfFirstEventsGivesTheSameDriftRecordsAsFirstEvents() throws {
        let dir = tempDir()
        let gen = CardFraudGenerator(seed: 5, driftAt: 30_000)
        let events = (0..<40_000).map { gen.event($0) }
        try Self.write(events.joined(separator: "\n") + "\n", to: dir + "/stream.jsonl")
        try Self.write(events[..<20_000].joined(separator: "\n") + "\n", to: dir + "/train.jsonl")
        let original = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        #expect(original.contains("{first_events: 20000}"))
        try Self.write(original, to: dir + "/first.yaml")
        try FileManager.default.createDirectory(atPath: dir + "/profiles", withIntermediateDirectories: true)
        try Self.write(original.replacingOccurrences(of: "{first_events: 20000}", with: "{profile: profiles/train.wrpf}"), to: dir + "/profiled.yaml")

        let profile = try Self.profile(topology: dir + "/first.yaml", input: dir + "/train.jsonl", output: dir + "/profiles/train.wrpf")
        #expect(profile.fields.map(\.feature) == ["amount", "device_age_days", "merchant", "score"])
        #expect(profile.field("score")?.inputs?.kept == 20_000)
        #expect(profile.field("merchant")?.categoryNames.isEmpty == false)

        let first = try Self.replay(topology: dir + "/first.yaml", input: dir + "/stream.jsonl", out: dir + "/out-first")
        let profiled = try Self.replay(topology: dir + "/profiled.yaml", input: dir + "/stream.jsonl", out: dir + "/out-profile")
        #expect(first.count == 16)          // (40,000 − 20,000) / 5,000 windows × 4 monitors
        #expect(profiled.count == 32)       // 40,000 / 5,000 × 4
        #expect(first.contains { $0["drifted"] as? Bool == true })          // the drift after event 30,000 is seen
        #expect(first.contains { $0["feature"] as? String == "score" && !($0["scored_by"] is NSNull) && $0["psi"] is Double })
        var byKey: [String: [String: Any]] = [:]
        for r in profiled { byKey["\(r["feature"]!)/\(r["window"]!)"] = r }
        var compared = 0
        for r in first {
            let feature = try #require(r["feature"] as? String)
            let window = try #require(r["window"] as? Int)
            let p = try #require(byKey["\(feature)/\(window + 4)"], "no profile record for \(feature) window \(window + 4)")
            #expect(Set(r.keys) == Set(p.keys))
            for (k, v) in r {
                switch k {
                case "window": #expect(p[k] as? Int == window + 4)
                case "window_start", "window_end": #expect(p[k] as? Int == (v as! Int) + 20_000)
                case "reference_id": #expect(p[k] as? String == "\(feature)/profile/train")
                case "reference":
                    var a = try #require(v as? [String: Any]), b = try #require(p[k] as? [String: Any])
                    #expect(b["kind"] as? String == "profile" && a["kind"] as? String == "first_events")
                    #expect(b["id"] as? String == "\(feature)/profile/train")
                    for key in ["kind", "id"] { a[key] = nil; b[key] = nil }
                    #expect(try Self.canonical(a) == Self.canonical(b), "\(feature) window \(window): reference \(a) vs \(b)")
                default:
                    #expect(try Self.canonical(v) == Self.canonical(p[k] as Any), "\(feature) window \(window): \(k) differs")
                }
            }
            compared += 1
        }
        #expect(compared == 16)
    }

    static let tinyTopology = """
    name: tiny
    source:
      topics: [events]
      event_time: {field: ts, format: epoch_millis}
    schema:
      ts: {type: timestamp}
      x: {type: double}
      c: {type: category}
      label: {type: int, required: false, min: 0, max: 1}
    features:
      x_scaled: "x / 10"
    model:
      type: logistic
      inputs: [x_scaled]
    drift:
      reference: REFERENCE
      window: {count: 200}
      bins: BINS
      monitors:
        x: {}
        c: {categorical: true}
        MONITORS
    """

    static func tiny(_ dir: String, name: String, reference: String, bins: Int = 10, monitors: String = "score: {}",
                     features: String? = nil) throws -> String {
        var text = tinyTopology.replacingOccurrences(of: "REFERENCE", with: reference)
            .replacingOccurrences(of: "BINS", with: "\(bins)").replacingOccurrences(of: "MONITORS", with: monitors)
        if let features { text = text.replacingOccurrences(of: "inputs: [x_scaled]", with: "inputs: [\(features)]")
            .replacingOccurrences(of: "x_scaled: \"x / 10\"", with: "x_scaled: \"x / 10\"\n  x_cubed: \"x * x * x\"") }
        let path = dir + "/" + name
        try write(text, to: path)
        return path
    }

    static func tinyEvents(_ n: Int, categories: [String], seed: UInt64) -> String {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            let x = Double.random(in: 0..<10, using: &rng)
            let c = categories[Int.random(in: 0..<categories.count, using: &rng)]
            return #"{"ts":\#(1_700_000_000_000 + i * 1000),"x":\#(x),"c":"\#(c)","label":\#(x > 5 ? 1 : 0)}"#
        }.joined(separator: "\n") + "\n"
    }

    /// A categorical reference is saved with its category names and mapped by name: the run's
    /// decoder sees the categories in another order (and one the profile lacks) than the training
    /// file did, yet the record's reference shares, per category name, are the training file's
    /// shares counted here directly from its lines.
    @Test func categoricalReferenceIsMappedByName() throws {
        let dir = tempDir()
        let train = Self.tinyEvents(1_000, categories: ["a", "b", "b", "c", "c", "c"], seed: 1)
        try Self.write(train, to: dir + "/train.jsonl")
        let profileTopology = try Self.tiny(dir, name: "build.yaml", reference: "{first_events: 10}")
        _ = try Self.profile(topology: profileTopology, input: dir + "/train.jsonl", output: dir + "/tiny.wrpf")
        let run = try Self.tiny(dir, name: "run.yaml", reference: "{profile: tiny.wrpf}")
        // the run sees d, c, b, a first: ids in the run's decoder differ from the training file's
        let stream = Self.tinyEvents(4, categories: ["d"], seed: 9)
            + #"{"ts":1700000004000,"x":1,"c":"c"}"# + "\n" + #"{"ts":1700000005000,"x":1,"c":"b"}"# + "\n"
            + Self.tinyEvents(194, categories: ["a", "b", "c", "d"], seed: 2)
        try Self.write(stream, to: dir + "/stream.jsonl")
        let records = try Self.replay(topology: run, input: dir + "/stream.jsonl", out: dir + "/out")
        let c = try #require(records.first { $0["feature"] as? String == "c" })
        let h = try #require(c["histogram"] as? [String: Any])
        let names = try #require(h["categories"] as? [String])
        let shares = try #require(h["reference"] as? [Double])
        var counts: [String: Int] = [:]
        for line in train.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            counts[o["c"] as! String, default: 0] += 1
        }
        #expect(Set(names) == ["a", "b", "c", "d"])
        for (name, share) in zip(names, shares) {
            #expect(abs(share - Double(counts[name] ?? 0) / 1_000) < 1e-12, "\(name): \(share)")
        }
        #expect(c["new_categories"] as? [String] == ["d"])
        #expect(c["n_reference"] as? Int == 1_000)
    }

    static func expectError(_ topology: String, _ dir: String, _ check: (ProfileReferenceError) -> Bool) throws {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: topology))
        var sink = try JSONLDirectorySink(directory: dir + "/out-err")
        do {
            _ = try ReplayRunner().run(compiled, input: dir + "/train.jsonl", into: &sink)
            Issue.record("no error for \(topology)")
        } catch let e as ProfileReferenceError {
            #expect(check(e), "unexpected error: \(e)")
        }
    }

    /// Damaged, truncated and mismatched profiles are errors naming the file (resolved next to the
    /// topology) and, where one is at fault, the field: a missing file, bytes of another format, a
    /// truncated file, a monitor the profile lacks, a monitor of another kind, other bins, and a
    /// score monitor whose model reads other inputs.
    @Test func badProfilesAreErrorsNamingFileAndField() throws {
        let dir = tempDir()
        try Self.write(Self.tinyEvents(600, categories: ["a", "b"], seed: 3), to: dir + "/train.jsonl")
        let build = try Self.tiny(dir, name: "build.yaml", reference: "{first_events: 10}")
        _ = try Self.profile(topology: build, input: dir + "/train.jsonl", output: dir + "/good.wrpf")
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/good.wrpf"))
        let path = dir + "/p.wrpf"

        // missing file
        try Self.expectError(try Self.tiny(dir, name: "t1.yaml", reference: "{profile: absent.wrpf}"), dir) {
            if case .cannotRead(let p, _) = $0 { return p == dir + "/absent.wrpf" } else { return false }
        }
        // another format
        try Data("not a profile\n".utf8).write(to: URL(fileURLWithPath: path))
        try Self.expectError(try Self.tiny(dir, name: "t2.yaml", reference: "{profile: p.wrpf}"), dir) {
            if case .damaged(let p, let d) = $0 { return p == path && d.contains("WRPF") } else { return false }
        }
        // truncated (every cut of the file is rejected, never loaded partly)
        for cut in stride(from: 1, to: good.count, by: max(1, good.count / 40)) {
            try good.prefix(cut).write(to: URL(fileURLWithPath: path))
            try Self.expectError(dir + "/t2.yaml", dir) {
                if case .damaged(let p, _) = $0 { return p == path } else { return false }
            }
        }
        try good.write(to: URL(fileURLWithPath: path))
        // a monitor the profile lacks
        let t3 = try Self.tiny(dir, name: "t3.yaml", reference: "{profile: p.wrpf}", monitors: "score: {}\n    label: {}")
        try Self.expectError(t3, dir) {
            if case .missingField(let p, let f, let a) = $0 { return p == path && f == "label" && a == ["x", "c", "score"] } else { return false }
        }
        #expect(ProfileReferenceError.missingField(path: path, field: "label", available: ["x"]).description.hasPrefix("\(path): field 'label'"))
        // kind: the profile's x is categorical (e.g. built from a topology where x was a category)
        var swapped = try ReferenceProfile.load(from: dir + "/good.wrpf")
        swapped.fields[0].reference = .categorical(CategoryCounts(ids: [0, 0, 1]))
        swapped.fields[0].categoryNames = ["lo", "hi"]
        try swapped.save(to: dir + "/swapped.wrpf")
        try Self.expectError(try Self.tiny(dir, name: "t4.yaml", reference: "{profile: swapped.wrpf}"), dir) {
            if case .mismatch(let p, let f, let d) = $0 {
                return p == dir + "/swapped.wrpf" && f == "x" && d.contains("categorical") && d.contains("numeric")
            } else { return false }
        }
        // bins
        try Self.expectError(try Self.tiny(dir, name: "t5.yaml", reference: "{profile: p.wrpf}", bins: 5), dir) {
            if case .mismatch(let p, let f, let d) = $0 { return p == path && f == "x" && d.contains("10 bins") && d.contains("5") } else { return false }
        }
        // the score monitor's model reads other inputs
        try Self.expectError(try Self.tiny(dir, name: "t6.yaml", reference: "{profile: p.wrpf}", features: "x_scaled, x_cubed"), dir) {
            if case .mismatch(let p, let f, let d) = $0 { return p == path && f == "score" && d.contains("x_cubed") } else { return false }
        }
        // and the good profile runs
        let ok = try Self.replay(topology: dir + "/t2.yaml", input: dir + "/train.jsonl", out: dir + "/out-ok")
        #expect(ok.count == 9)   // 600 / 200 windows × 3 monitors
    }

    /// `drift.gate.calibrate` in a topology: records of the calibrated monitors carry their
    /// thresholds, split over the topology's 3 monitors; the score monitor (under a fixed model)
    /// keeps the fixed ones (`calibration` null). With a profile reference the thresholds are chosen
    /// when the pipeline is built (reported at start: `calibrationSummaries`), and equal those the
    /// first-events run chooses from the same events.
    @Test func gateCalibrateInTopologies() throws {
        let dir = tempDir()
        try Self.write(Self.tinyEvents(400, categories: ["a", "b", "c"], seed: 4), to: dir + "/train.jsonl")
        try Self.write(Self.tinyEvents(400, categories: ["a", "b", "c"], seed: 4) + Self.tinyEvents(1_000, categories: ["a", "b", "c"], seed: 5),
                       to: dir + "/stream.jsonl")
        func calibrated(_ reference: String) throws -> String {
            let path = try Self.tiny(dir, name: "cal-\(reference.hashValue).yaml", reference: reference)
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text += "\n  gate: {calibrate: {false_alarm_rate: 0.05}}\n"
            try Self.write(text, to: path)
            return path
        }
        let first = try Self.replay(topology: try calibrated("{first_events: 400}"), input: dir + "/stream.jsonl", out: dir + "/o1")
        #expect(first.count == 15)      // 1,000 / 200 windows × 3 monitors
        for r in first {
            if r["feature"] as? String == "score" { #expect(r["calibration"] is NSNull) ; continue }
            let c = try #require(r["calibration"] as? [String: Any])
            #expect(c["monitors"] as? Int == 3 && c["window_size"] as? Int == 200)
            #expect(abs((c["per_monitor_rate"] as? Double ?? 0) - 0.05 / 3) < 1e-15)
        }
        // the replay reports each monitor's thresholds once, when they are chosen (after the reference)
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let reported = Lines()
        var runner = ReplayRunner(batchSize: 100)
        runner.onCalibration = { reported.all.append($0) }
        var sink = try JSONLDirectorySink(directory: dir + "/o3")
        _ = try runner.run(try TopologyCompiler.compile(try TopologyLoader.load(path: try calibrated("{first_events: 400}"))),
                           input: dir + "/stream.jsonl", into: &sink)
        #expect(reported.all.count == 2 && reported.all[0].hasPrefix("x: psi > ") && reported.all[1].hasPrefix("c: psi > "), "\(reported.all)")
        #expect(reported.all.allSatisfy { $0.contains("false-alarm rate 0.05 per window over 3 monitors") })
        let build = try Self.tiny(dir, name: "build.yaml", reference: "{first_events: 10}")
        _ = try Self.profile(topology: build, input: dir + "/train.jsonl", output: dir + "/cal.wrpf")
        let profiled = try calibrated("{profile: cal.wrpf}")
        let pipeline = try Pipeline(compiled: try TopologyCompiler.compile(try TopologyLoader.load(path: profiled)))
        let lines = pipeline.calibrationSummaries
        #expect(lines.count == 2 && lines[0].hasPrefix("x: psi > ") && lines[1].hasPrefix("c: psi > ") && lines[1].contains("js_distance > "))
        let viaProfile = try Self.replay(topology: profiled, input: dir + "/stream.jsonl", out: dir + "/o2")
        let a = try #require(first.first { $0["feature"] as? String == "x" }?["calibration"])
        let b = try #require(viaProfile.first { $0["feature"] as? String == "x" }?["calibration"])
        #expect(try Self.canonical(a) == Self.canonical(b))
    }

    /// A profile written by this build round-trips (version 2: topology, input names, category
    /// names, model inputs), and a version 1 file (no names, no inputs) still loads.
    @Test func profileFileRoundTripsAndReadsVersion1() throws {
        var inputs = try InputSample(dimension: 2, capacity: 3, seed: 7)
        for v in [[1.0, 2.0], [3.0, 4.0]] { v.withUnsafeBufferPointer { inputs.add($0) } }
        let info = ReferenceInfo(kind: .profile, id: "c/profile/p", n: 3)
        let p = ReferenceProfile(id: "p", topology: "tiny", inputNames: ["u", "v"], fields: [
            .init(feature: "c", reference: .categorical(CategoryCounts(ids: [0, 1, 1])), info: info, categoryNames: ["a", "b"]),
            .init(feature: "score", reference: .numeric(try NumericReference(sample: [0.1, 0.2, 0.3])), info: info, inputs: inputs),
        ])
        #expect(try ReferenceProfile(serialized: p.serialized()) == p)
        var w = ByteWriter()
        w.writeHeader(tag: "WRPF", version: 1)
        w.write("old"); w.write("")
        w.write(UInt64(1)); w.write("c"); info.serialize(into: &w); p.fields[0].reference.serialize(into: &w)
        let old = try ReferenceProfile(serialized: w.bytes)
        #expect(old.id == "old" && old.topology == "" && old.fields.count == 1 && old.fields[0].categoryNames == [] && old.fields[0].inputs == nil)
    }
}
