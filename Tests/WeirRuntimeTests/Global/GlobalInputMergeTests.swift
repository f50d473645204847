import Testing
import WeirTestSupport
@testable import WeirRuntime

/// The global stage's live merge of `<name>.global` (``GlobalInputMerge``), without Kafka:
/// batches arrive in random interleavings; the order handed out must be the oracle's (a stable
/// sort by event time, then partition, then the task's order) whatever the arrival order, a
/// partition with nothing held must block unless it said it caught up, and a restart from
/// ``GlobalInputMerge/resumeOffsets`` must hand out exactly the rest, skipping what a task sends again.
@Suite struct GlobalInputMergeTests {
    /// One batch: events (time, source offset), flags.
    struct Batch {
        var partition: Int32
        var events: [(time: Int64, offset: Int64)]
        var flags: GlobalBatchFormat.Flags = []
        /// Per event its message timestamp (a version 5 batch); nil: none sent (version 3).
        var stamps: [Int64]? = nil
        /// Version 5: the task's source position after the batch (nil: not said).
        var readThrough: Int64? = nil
        func encoded() -> [UInt8] {
            var w = GlobalBatchWriter(partition: partition, dimension: 0, monitoredCount: 0, messageTimestamps: stamps != nil)
            w.readThrough = readThrough ?? -1
            for (i, e) in events.enumerated() {
                w.append(eventTime: e.time, offset: e.offset, messageTimestamp: stamps?[i] ?? .min, score: 0, label: nil,
                         inputs: .init(start: nil, count: 0), monitored: .init(start: nil, count: 0), present: 0)
            }
            w.flags = flags
            var out: [UInt8] = []
            w.encode(watermark: 0, into: &out)
            return out
        }
    }

    /// Per partition, batches of ascending event times (ties within and across partitions), the
    /// last one flagged ended.
    static func stream(partitions: Int, batches: Int, seed: UInt64) -> [[Batch]] {
        var g = SeededGenerator(seed: seed)
        return (0..<partitions).map { p in
            var t: Int64 = 0
            var offset: Int64 = 0
            return (0..<batches).map { b in
                let n = Int(g.next(below: 6))  // empty batches too (dead letters only)
                var events: [(Int64, Int64)] = []
                for _ in 0..<n {
                    t += Int64(g.next(below: 3))
                    events.append((t, offset))
                    offset += 1 + Int64(g.next(below: 2))  // gaps: dead letters
                }
                return Batch(partition: Int32(p), events: events, flags: b == batches - 1 ? [.ended] : [])
            }
        }
    }

    /// Feeds `stream` in a random interleaving (each partition's batches in order), draining
    /// what the merge allows after every arrival; returns "partition/offset" in the order handed
    /// out and the runs.
    static func drain(_ stream: [[Batch]], seed: UInt64, merge: inout GlobalInputMerge, from start: [Int] = [],
                      stopAfter: Int = .max) throws -> [String] {
        var g = SeededGenerator(seed: seed)
        var next = start.isEmpty ? Array(repeating: 0, count: stream.count) : start
        var globalOffsets = next.map(Int64.init)
        var out: [String] = []
        while out.count < stopAfter {
            let waiting = (0..<stream.count).filter { next[$0] < stream[$0].count }
            guard !waiting.isEmpty else { break }
            let p = waiting[Int(g.next(below: UInt64(waiting.count)))]
            let bytes = stream[p][next[p]].encoded()
            try bytes.withUnsafeBytes { try merge.add(partition: Int32(p), offset: globalOffsets[p], bytes: $0) }
            next[p] += 1
            globalOffsets[p] += 1
            while out.count < stopAfter, let run = merge.next() {
                let batch = merge.batch(run.partition)
                for i in run.range { out.append("\(run.partition)/\(batch.offset(i))") }
                merge.advance(run)
            }
        }
        return out
    }

    static func oracle(_ stream: [[Batch]]) -> [String] {
        stream.enumerated().flatMap { p, batches in
            batches.flatMap(\.events).enumerated().map { (time: $0.element.time, p: p, i: $0.offset, offset: $0.element.offset) }
        }
        .sorted { ($0.time, $0.p, $0.i) < ($1.time, $1.p, $1.i) }.map { "\($0.p)/\($0.offset)" }
    }

    @Test(arguments: [1, 2, 4, 12], [1, 3, 20])
    func handsOutTheOracleOrderWhateverTheArrivalOrder(partitions: Int, batches: Int) throws {
        let stream = Self.stream(partitions: partitions, batches: batches, seed: UInt64(partitions * 100 + batches))
        for seed in 0..<5 as Range<UInt64> {
            var merge = GlobalInputMerge(partitions: partitions)
            let got = try Self.drain(stream, seed: seed, merge: &merge)
            #expect(got == Self.oracle(stream), "arrival seed \(seed)")
            #expect(merge.allEnded)
            #expect(merge.heldBytes == 0)
        }
    }

    @Test func aPartitionWithNothingHeldBlocksUntilItSaysItCaughtUp() throws {
        var merge = GlobalInputMerge(partitions: 2)
        let first = Batch(partition: 0, events: [(10, 0), (20, 1)]).encoded()
        try first.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }
        #expect(merge.next() == nil)  // partition 1 may still send something older
        let marker = Batch(partition: 1, events: [], flags: [.caughtUp]).encoded()
        try marker.withUnsafeBytes { try merge.add(partition: 1, offset: 0, bytes: $0) }
        // The marker is closed first (its watermark), then partition 0's events go.
        #expect(merge.next() == GlobalInputMerge.Run(partition: 1, range: 0..<0))
        merge.advance(GlobalInputMerge.Run(partition: 1, range: 0..<0))
        #expect(merge.next() == GlobalInputMerge.Run(partition: 0, range: 0..<2))
        merge.advance(GlobalInputMerge.Run(partition: 0, range: 0..<2))
        #expect(merge.next() == GlobalInputMerge.Run(partition: 0, range: 2..<2))  // closes the batch
        merge.advance(GlobalInputMerge.Run(partition: 0, range: 2..<2))
        // New data of partition 1 makes it block again once drained.
        let more = Batch(partition: 1, events: [(30, 5)]).encoded()
        try more.withUnsafeBytes { try merge.add(partition: 1, offset: 1, bytes: $0) }
        #expect(merge.next() == nil)  // partition 0 has nothing and did not say it caught up
        #expect(merge.resumeOffsets == [0: 1, 1: 1])
    }

    /// A restart: the first merge stops part way; a second one, given the processed offsets and
    /// fed again from the resume offsets (plus batches a restarted task sends again from an older
    /// checkpoint), hands out exactly the rest of the oracle.
    @Test(arguments: [0, 7, 40, 100])
    func aRestartHandsOutExactlyTheRest(stopAfter: Int) throws {
        let stream = Self.stream(partitions: 3, batches: 12, seed: 99)
        let oracle = Self.oracle(stream)
        var first = GlobalInputMerge(partitions: 3)
        let before = try Self.drain(stream, seed: 1, merge: &first, stopAfter: stopAfter)
        #expect(before == Array(oracle.prefix(before.count)))
        let resume = (0..<3).map { p in Int(first.resumeOffsets[Int32(p)] ?? 0) }
        var processed: [Int32: Int64] = [:]
        for (p, o) in first.processedSourceOffset.enumerated() { processed[Int32(p)] = o }
        // Tasks that restarted from older checkpoints send their first batches again.
        let resent = resume.map { max(0, $0 - 2) }
        var second = GlobalInputMerge(partitions: 3, processed: processed)
        let after = try Self.drain(stream, seed: 2, merge: &second, from: resent)
        #expect(before + after == oracle)
        #expect(second.allEnded)
    }

    @Test func refusesWhatIsNotABatchOfItsPartition() throws {
        var merge = GlobalInputMerge(partitions: 2)
        let other = Batch(partition: 1, events: [(1, 0)]).encoded()
        #expect(throws: GlobalInputMerge.InputError.wrongPartition(partition: 0, offset: 4, names: 1)) {
            try other.withUnsafeBytes { try merge.add(partition: 0, offset: 4, bytes: $0) }
        }
        let garbage: [UInt8] = Array(repeating: 7, count: 60)
        #expect(throws: GlobalInputMerge.InputError.self) {
            try garbage.withUnsafeBytes { try merge.add(partition: 1, offset: 9, bytes: $0) }
        }
        #expect(merge.heldBytes == 0)
    }
}

extension GlobalInputMergeTests {
    /// A task restarted from its checkpoint while its earlier batch is still held (blocked by a
    /// silent partition): the copy is skipped when it reaches the head, every event goes once.
    @Test func aResentBatchIsSkippedEvenWhileTheFirstCopyIsHeld() throws {
        var merge = GlobalInputMergeTests.makeMerge()
        let first = Batch(partition: 0, events: (0..<10).map { (Int64($0) * 10, Int64($0)) }).encoded()
        let again = Batch(partition: 0, events: (5..<15).map { (Int64($0) * 10, Int64($0)) }).encoded()
        try first.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }
        try again.withUnsafeBytes { try merge.add(partition: 0, offset: 1, bytes: $0) }
        #expect(merge.next() == nil)
        let marker = Batch(partition: 1, events: [], flags: [.caughtUp]).encoded()
        try marker.withUnsafeBytes { try merge.add(partition: 1, offset: 0, bytes: $0) }
        var handed: [Int64] = []
        while let run = merge.next() {
            let b = merge.batch(run.partition)
            for i in run.range { handed.append(b.offset(i)) }
            merge.advance(run)
        }
        #expect(handed == Array(0..<15))
        #expect(merge.skippedDuplicates == 5)
        #expect(merge.heldBytes == 0)
    }

    static func makeMerge() -> GlobalInputMerge { GlobalInputMerge(partitions: 2) }
}
