import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Monitor snapshot → restore → continue gives the same records as an uninterrupted monitor, at cut
/// points during reference building, mid-window (reservoir past its cap) and with open event-time windows.
@Suite struct FieldMonitorSnapshotTests {
    enum Op { case value(Double, Int64), category(Int32, Int64), missing(Int64), watermark(Int64), deadLetters(Int) }

    static func run(_ cfg: MonitorConfig, _ ops: ArraySlice<Op>, _ m: inout FieldMonitor) -> [String] {
        var out: [String] = []
        for op in ops {
            switch op {
            case .value(let x, let t): m.feed(x, eventTime: t)
            case .category(let c, let t): m.feed(category: c, eventTime: t)
            case .missing(let t): m.feedMissing(eventTime: t)
            case .watermark(let w): m.advanceWatermark(to: w)
            case .deadLetters(let n): m.addDeadLetters(n)
            }
            out += m.drainRecords().map { $0.json() }
        }
        return out
    }

    static func check(_ cfg: MonitorConfig, _ ops: [Op], cuts: [Int]) throws {
        var straight = try FieldMonitor(cfg)
        let expected = run(cfg, ops[...], &straight)
        #expect(expected.count >= 3)
        for cut in cuts {
            var first = try FieldMonitor(cfg)
            var got = run(cfg, ops[..<cut], &first)
            let bytes = first.snapshot()
            var restored = try FieldMonitor(cfg, restoring: bytes)
            #expect(restored.snapshot() == bytes)
            got += run(cfg, ops[cut...], &restored)
            #expect(got == expected, "cut at \(cut)")
            #expect(throws: SerializationError.self) { try FieldMonitor(cfg, restoring: Array(bytes.dropLast(1))) }
            var other = cfg
            other.feature = "other"
            #expect(throws: SerializationError.self) { try FieldMonitor(other, restoring: bytes) }
        }
    }

    @Test func countWindowsWithSketchedReferenceAndSampling() throws {
        var cfg = numericConfig("x", window: 700, reference: 3_000, cap: 300)
        cfg.referenceCap = 1_000
        var g = SeededGenerator(seed: 41)
        var ops: [Op] = []
        for i in 0..<6_000 {
            ops.append(i % 97 == 0 ? .missing(0) : .value(g.nextGaussian() + (i > 4_500 ? 1 : 0), 0))
            if i % 500 == 0 { ops.append(.deadLetters(2)) }
        }
        try Self.check(cfg, ops, cuts: [10, 1_500, 3_050, 4_000, 5_999])
    }

    @Test func eventTimeWindowsAndRollingCategoricalReference() throws {
        let cfg = MonitorConfig(feature: "m", kind: .categorical, window: .eventTime(width: 100), reference: .rolling)
        var g = SeededGenerator(seed: 42)
        var ops: [Op] = []
        for i in 0..<3_000 {
            let t = Int64(i / 3) - Int64(g.next() % 50)
            ops.append(.category(Int32(g.next() % (i > 2_000 ? 7 : 4)), t))
            if i % 60 == 0 { ops.append(.watermark(Int64(i / 3) - 60)) }
        }
        ops.append(.watermark(2_000))
        try Self.check(cfg, ops, cuts: [5, 700, 1_600, 3_000])
    }

    @Test func eventTimeRangeReference() throws {
        let cfg = MonitorConfig(feature: "r", window: .eventTime(width: 200), reference: .eventTimeRange(start: 0, end: 1_000))
        var g = SeededGenerator(seed: 43)
        var ops: [Op] = []
        for i in 0..<4_000 {
            ops.append(.value(g.nextGaussian(), Int64(i)))
            if i % 100 == 0 { ops.append(.watermark(Int64(i) - 50)) }
        }
        ops.append(.watermark(5_000))
        try Self.check(cfg, ops, cuts: [500, 1_100, 2_500])
    }
}
