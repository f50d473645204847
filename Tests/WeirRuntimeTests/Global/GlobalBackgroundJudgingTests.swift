import Foundation
import Testing
import WeirCore
import WeirTopology
@testable import WeirRuntime

/// The global stage of a partitioned `drift.mode: contract` topology judges closed drift windows
/// on another thread (``Pipeline/backgroundDriftEvaluation``, as `GlobalStage` sets it): its
/// records are those it writes judging them on its own thread, byte for byte and at the same
/// source positions (the event that closed each window). The benchmark contract's topology on
/// 50,000 events of its fixture, split over three tasks by user, the tasks' encoded batches read
/// through the runner's merge (``GlobalInputMerge``).
@Suite struct GlobalBackgroundJudgingTests {
    static let tasks = 3

    /// The global stage's records for the tasks' batches, judging in the background or not.
    static func globalRecords(_ compiled: CompiledTopology, _ batches: [(partition: Int32, bytes: [UInt8])], background: Bool) throws -> RecordingSink {
        var global = try Pipeline(compiled: compiled, partitions: tasks, role: .global)
        global.backgroundDriftEvaluation = background
        var merge = GlobalInputMerge(partitions: tasks)
        var offsets = [Int64](repeating: 0, count: tasks)
        var sink = RecordingSink()
        for (p, bytes) in batches {
            try bytes.withUnsafeBytes { try merge.add(partition: p, offset: offsets[Int(p)], bytes: $0) }
            offsets[Int(p)] += 1
            try global.processGlobal(merging: &merge, now: 0, into: &sink)
        }
        #expect(merge.allEnded)
        try global.settle(into: &sink)
        return sink
    }

    @Test func recordsEqualThoseJudgedOnTheStagesOwnThread() throws {
        let lines = try String(contentsOfFile: try ContractParityTests.contractEvents(in: tempDir()), encoding: .utf8)
            .split(separator: "\n").prefix(50_000).map(String.init)
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: 20000}")
            .replacingOccurrences(of: "window: {count: 10000}", with: "window: {count: 5000}")
            .replacingOccurrences(of: "min_window_size: 10000", with: "min_window_size: 5000")
        #expect(scaled != text)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "fraud-contract.yaml"))
        // The tasks, 1,024 events at a time, each batch encoded for the global stage; then each ends.
        var taskPipelines = try (0..<Self.tasks).map { try Pipeline(compiled: compiled, partitions: 1, role: .task(partition: Int32($0))) }
        var taskSink = RecordingSink()
        var batches: [(partition: Int32, bytes: [UInt8])] = []
        for start in stride(from: 0, to: lines.count, by: 1024) {
            var per = (0..<Self.tasks).map { _ in InputBatch(capacity: 1024) }
            for i in start..<min(lines.count, start + 1024) {
                let user = lines[i].range(of: #""user":"[^"]*""#, options: .regularExpression).map { String(lines[i][$0]) } ?? ""
                let p = Int32(user.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 } % UInt32(Self.tasks))
                per[Int(p)].append(Array(lines[i].utf8), partition: p, offset: Int64(i))
            }
            for t in 0..<Self.tasks {
                try taskPipelines[t].process(per[t], topic: "events", now: 0, into: &taskSink)
                var bytes: [UInt8] = []
                if taskPipelines[t].takeGlobalBatch(into: &bytes) { batches.append((Int32(t), bytes)) }
            }
        }
        for t in 0..<Self.tasks {
            var bytes: [UInt8] = []
            if taskPipelines[t].takeGlobalBatch(into: &bytes, flags: [.caughtUp, .ended]) { batches.append((Int32(t), bytes)) }
        }
        let own = try Self.globalRecords(compiled, batches, background: false)
        let background = try Self.globalRecords(compiled, batches, background: true)
        #expect(own.count(.drift) >= 15 && own.count(.alerts) > 0, "\(own.count(.drift)) drift and \(own.count(.alerts)) alert records")
        for kind in [OutputKind.drift, .alerts, .retrain, .windows, .models] {
            // Whole records: key, value and the source position.
            #expect(background.records.filter { $0.kind == kind.rawValue } == own.records.filter { $0.kind == kind.rawValue }, "\(kind) records differ")
        }
    }
}
