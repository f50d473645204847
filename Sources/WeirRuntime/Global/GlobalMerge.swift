/// The order in which the global stage reads the events of several tasks' batches
/// (`docs/scaling.md`): ascending `key` (event time in a deployment; any total order a test
/// chooses), ties to the earlier batch in `readers`, each batch's own order kept. Handed out as
/// runs of consecutive events of one batch, so ``Pipeline/processGlobal(_:events:now:into:)``
/// takes many events per call.
/// - Complexity: O(events × batches) key reads; no allocation beyond one array of positions.
public enum GlobalMerge {
    public static func runs(_ readers: [GlobalBatchReader], by key: (GlobalBatchReader, Int) -> Int64,
                            _ body: (_ reader: Int, _ events: Range<Int>) throws -> Void) rethrows {
        var next = Array(repeating: 0, count: readers.count)
        while true {
            var best = -1
            var bestKey = Int64.max
            for k in readers.indices where next[k] < readers[k].count {
                let kk = key(readers[k], next[k])
                if best < 0 || kk < bestKey { best = k; bestKey = kk }
            }
            guard best >= 0 else { return }
            // The run goes on while no other batch's head is due first (a tie goes to the earlier batch).
            var limit = Int64.max
            var limitFromEarlier = false
            for k in readers.indices where k != best && next[k] < readers[k].count {
                let kk = key(readers[k], next[k])
                if kk < limit || (kk == limit && k < best) { limit = kk; limitFromEarlier = k < best }
            }
            var end = next[best] + 1
            while end < readers[best].count {
                let kk = key(readers[best], end)
                if kk > limit || (kk == limit && limitFromEarlier) { break }
                end += 1
            }
            try body(best, next[best]..<end)
            next[best] = end
        }
    }
}
