/// The order in which the global stage reads the events of several tasks' batches
/// (`docs/scaling.md`): ascending `key` (event time in a deployment; any total order a test
/// chooses), ties to the earlier batch in `readers`, each batch's own order kept. Handed out as
/// runs of consecutive events of one batch, so ``Pipeline/processGlobal(_:events:now:into:)``
/// takes many events per call.
/// - Complexity: per run O(batches) comparisons of cached head keys, plus one `key` call per
///   event; allocates two arrays of `batches` entries per call.
public enum GlobalMerge {
    public static func runs(_ readers: [GlobalBatchReader], by key: (GlobalBatchReader, Int) -> Int64,
                            _ body: (_ reader: Int, _ events: Range<Int>) throws -> Void) rethrows {
        var next = Array(repeating: 0, count: readers.count)
        // The key of each batch's next event (Int64.max once it is done; `live` tells them apart).
        var head = readers.indices.map { readers[$0].count > 0 ? key(readers[$0], 0) : .max }
        var live = readers.reduce(0) { $0 + ($1.count > 0 ? 1 : 0) }
        while live > 0 {
            // The first due batch (smallest head, earliest batch on ties) and the next one after it.
            var best = -1, second = -1
            for k in readers.indices where next[k] < readers[k].count {
                if best < 0 || head[k] < head[best] { second = best; best = k }
                else if second < 0 || head[k] < head[second] { second = k }
            }
            // The run goes on while the second batch's head is not due first (a tie goes to the earlier batch).
            let limit = second < 0 ? Int64.max : head[second]
            let stopOnTie = second >= 0 && second < best
            var end = next[best] + 1
            var endKey = Int64.max
            while end < readers[best].count {
                endKey = key(readers[best], end)
                if endKey > limit || (endKey == limit && stopOnTie) { break }
                end += 1
            }
            try body(best, next[best]..<end)
            next[best] = end
            if end < readers[best].count { head[best] = endKey } else { head[best] = .max; live -= 1 }
        }
    }
}
