internal import CWeirPrefetch
import WeirStats

/// Per-event inputs of a window's aggregates, extracted once per record.
///
/// `values[i]` is aggregate i's input: the numeric value, the category id (top-k), or the
/// 64-bit hash as a bit pattern (distinct); `present[i]` is false when the field is absent.
public struct AggregateInputs: Sendable {
    @usableFromInline var values: ContiguousArray<Double>
    @usableFromInline var present: ContiguousArray<Bool>
    init(count: Int) {
        values = ContiguousArray(repeating: 0, count: count)
        present = ContiguousArray(repeating: false, count: count)
    }
}

/// Neumaier (improved Kahan–Babuška) compensated addition: `p[0]` sum, `p[1]` compensation.
@inline(__always)
func neumaierAdd(_ p: UnsafeMutablePointer<Double>, _ x: Double) {
    let s = p[0]
    let t = s + x
    if abs(s) >= abs(x) { p[1] += (s - t) + x } else { p[1] += (x - t) + s }
    p[0] = t
}

extension AccumulatorStore {
    /// Extracts this store's inputs from row `row` of `batch`.
    @inline(__always)
    func extract(_ batch: RecordBatch, row: Int, into inp: inout AggregateInputs) {
        // through buffer pointers: one uniqueness check per array, not one per element write
        aggs.withUnsafeBufferPointer { ab in
            inp.present.withUnsafeMutableBufferPointer { pb in
                inp.values.withUnsafeMutableBufferPointer { vb in
                    for i in 0..<ab.count {
                        let a = ab[i]
                        if a.field < 0 { pb[i] = true; vb[i] = 1; continue }
                        guard batch.isPresent(row, a.field) else { pb[i] = false; continue }
                        pb[i] = true
                        switch a.op {
                        case .distinct:
                            let h: UInt64
                            switch a.type {
                            case .string: h = batch.withStringBytes(row, a.field) { StatsHash.hash(bytes: $0) }
                            case .double: h = StatsHash.hash(batch.double(row, a.field))
                            default: h = StatsHash.hash(batch.int(row, a.field))
                            }
                            vb[i] = Double(bitPattern: h)
                        case .topK:
                            vb[i] = Double(Int32(clamping: batch.int(row, a.field)))
                        default:
                            vb[i] = batch.numeric(row, a.field, type: a.type)
                        }
                    }
                }
            }
        }
    }

    /// Adds one event (event time `ts`) to entry `e`.
    @inline(__always)
    mutating func apply(_ e: Int32, _ inp: AggregateInputs, ts: Int64) {
        let base = Int(e) * stride
        let t = Double(ts)
        let sketches = hasSketches
        let done: Bool = slots.withUnsafeMutableBufferPointer { sb in
            aggs.withUnsafeBufferPointer { ab in
                inp.present.withUnsafeBufferPointer { pb in
                    inp.values.withUnsafeBufferPointer { vb in
                        let s = sb.baseAddress! + base
                        for i in 0..<ab.count where pb[i] {
                            Self.update(s, ab[i], vb[i], t)
                        }
                        return !sketches
                    }
                }
            }
        }
        if done { return }
        for i in 0..<aggs.count where inp.present[i] {
            let a = aggs[i]
            // only sketch aggregates hold a pool index in their slot; other slots hold values
            // (a sum can reach 1e308, which no Int holds)
            guard a.op == .distinct || a.op == .quantile || a.op == .topK else { continue }
            let h = Int(slots[base + a.slot])
            let x = inp.values[i]
            switch a.op {
            case .distinct:
                let before = hlls[h].storageBytes
                hlls[h].insert(hash: x.bitPattern)
                sketchBytes &+= hlls[h].storageBytes &- before
            case .quantile:
                let before = klls[h].storageBytes
                klls[h].insert(x)
                sketchBytes &+= klls[h].storageBytes &- before
            case .topK:
                let before = tops[h].storageBytes
                tops[h].insert(Int32(x))
                sketchBytes &+= tops[h].storageBytes &- before
            default: break
            }
        }
    }

    /// One scalar aggregate's update of the slots at `s` with input `x` (event time `t`);
    /// sketch-backed aggregates are left to the caller.
    @inline(__always)
    static func update(_ s: UnsafeMutablePointer<Double>, _ a: CompiledAggregate, _ x: Double, _ t: Double) {
        let o = a.slot
        switch a.op {
        case .count: s[o] += 1
        case .sum: neumaierAdd(s + o, x)
        case .mean: s[o] += 1; neumaierAdd(s + o + 1, x)
        case .variance, .std:
            if s[o] == 0 { s[o + 1] = x }
            let y = x - s[o + 1]
            let n = s[o] + 1
            let d = y - s[o + 2]
            let m = s[o + 2] + d / n
            s[o + 3] += d * (y - m)
            s[o] = n; s[o + 2] = m
        case .min: if s[o] == 0 || x < s[o + 1] { s[o + 1] = x }; s[o] += 1
        case .max: if s[o] == 0 || x > s[o + 1] { s[o + 1] = x }; s[o] += 1
        case .first: if s[o] == 0 || t < s[o + 1] { s[o + 1] = t; s[o + 2] = x }; s[o] += 1
        case .last: if s[o] == 0 || t >= s[o + 1] { s[o + 1] = t; s[o + 2] = x }; s[o] += 1
        case .ewma: s[o + 1] = s[o] == 0 ? x : a.param * x + (1 - a.param) * s[o + 1]; s[o] += 1
        case .distinct, .quantile, .topK: break
        }
    }

    /// ``extract(_:row:into:)`` then ``apply(_:_:ts:)`` in one pass, reading the inputs from the
    /// batch in place (no input arrays). Only for stores without sketches.
    @inline(__always)
    mutating func applyRow(_ e: Int32, _ batch: RecordBatch, row: Int, ts: Int64) {
        let base = Int(e) * stride
        let t = Double(ts)
        let rb = row &* batch.fieldCount
        slots.withUnsafeMutableBufferPointer { sb in
            aggs.withUnsafeBufferPointer { ab in
                batch.present.withUnsafeBufferPointer { pb in
                    batch.slots.withUnsafeBufferPointer { vb in
                        let s = sb.baseAddress! + base
                        for a in ab {
                            let x: Double
                            if a.field < 0 { x = 1 } else {
                                guard pb[rb + a.field] != 0 else { continue }
                                let raw = vb[rb + a.field]
                                switch a.type {  // as RecordBatch.numeric
                                case .double: x = Double(bitPattern: UInt64(bitPattern: raw))
                                case .string: x = 0
                                case .int, .timestamp, .bool, .category: x = Double(raw)
                                }
                            }
                            Self.update(s, a, x, t)
                        }
                    }
                }
            }
        }
    }

    /// Merges entry `src` into `dst` (exact for counts, sums, extremes, first/last and Welford
    /// moments via Chan et al.; within the sketch bounds for sketches; EWMA keeps `dst` if set).
    mutating func merge(into dst: Int32, from src: Int32) {
        let bd = Int(dst) * stride, bs = Int(src) * stride
        for a in aggs {
            let o = bd + a.slot, q = bs + a.slot
            switch a.op {
            case .count: slots[o] += slots[q]
            case .sum:
                slots.withUnsafeMutableBufferPointer { s in neumaierAdd(s.baseAddress! + o, s[q]); s[o + 1] += s[q + 1] }
            case .mean:
                slots[o] += slots[q]
                slots.withUnsafeMutableBufferPointer { s in neumaierAdd(s.baseAddress! + o + 1, s[q + 1]); s[o + 2] += s[q + 2] }
            case .variance, .std:
                let na = slots[o], nb = slots[q]
                if nb == 0 { continue }
                if na == 0 { for j in 0..<4 { slots[o + j] = slots[q + j] }; continue }
                let n = na + nb
                // difference of the means, in a's shift: (Kb − Ka) + (mb − ma)
                let d = (slots[q + 1] - slots[o + 1]) + (slots[q + 2] - slots[o + 2])
                slots[o + 2] = slots[o + 2] + d * nb / n
                slots[o + 3] = slots[o + 3] + slots[q + 3] + d * d * na * nb / n
                slots[o] = n
            case .min: if slots[q] > 0 && (slots[o] == 0 || slots[q + 1] < slots[o + 1]) { slots[o + 1] = slots[q + 1] }; slots[o] += slots[q]
            case .max: if slots[q] > 0 && (slots[o] == 0 || slots[q + 1] > slots[o + 1]) { slots[o + 1] = slots[q + 1] }; slots[o] += slots[q]
            case .first:
                if slots[q] > 0 && (slots[o] == 0 || slots[q + 1] < slots[o + 1]) { slots[o + 1] = slots[q + 1]; slots[o + 2] = slots[q + 2] }
                slots[o] += slots[q]
            case .last:
                if slots[q] > 0 && (slots[o] == 0 || slots[q + 1] >= slots[o + 1]) { slots[o + 1] = slots[q + 1]; slots[o + 2] = slots[q + 2] }
                slots[o] += slots[q]
            case .ewma: if slots[o] == 0 { slots[o + 1] = slots[q + 1] }; slots[o] += slots[q]
            case .distinct:
                let before = hlls[Int(slots[o])].storageBytes
                try? hlls[Int(slots[o])].merge(hlls[Int(slots[q])])
                sketchBytes &+= hlls[Int(slots[o])].storageBytes &- before
            case .quantile:
                let before = klls[Int(slots[o])].storageBytes
                try? klls[Int(slots[o])].merge(klls[Int(slots[q])])
                sketchBytes &+= klls[Int(slots[o])].storageBytes &- before
            case .topK:
                let before = tops[Int(slots[o])].storageBytes
                try? tops[Int(slots[o])].merge(tops[Int(slots[q])])
                sketchBytes &+= tops[Int(slots[o])].storageBytes &- before
            }
        }
    }

    /// Writes entry `e`'s output columns to `out[offset...]`. Always finite (empty → 0).
    /// `only`: when non-nil, only aggregates whose flag is true are computed (others untouched).
    func output(_ e: Int32, into out: inout ContiguousArray<Double>, at offset: Int, only: ContiguousArray<Bool>? = nil) {
        let base = Int(e) * stride
        for (i, a) in aggs.enumerated() {
            if let only, !only[i] { continue }
            let o = base + a.slot
            let c = offset + a.column
            var v = 0.0
            switch a.op {
            case .count: v = slots[o]
            case .sum: v = slots[o] + slots[o + 1]
            case .mean: v = slots[o] > 0 ? (slots[o + 1] + slots[o + 2]) / slots[o] : 0
            case .variance: v = slots[o] > 1 ? Swift.max(0, slots[o + 3] / (slots[o] - 1)) : 0
            case .std: v = slots[o] > 1 ? Swift.max(0, slots[o + 3] / (slots[o] - 1)).squareRoot() : 0
            case .min, .max, .ewma: v = slots[o] > 0 ? slots[o + 1] : 0
            case .first, .last: v = slots[o] > 0 ? slots[o + 2] : 0
            case .distinct: v = hlls[Int(slots[o])].estimate
            case .quantile: v = klls[Int(slots[o])].quantile(a.param) ?? 0
            case .topK:
                let top = tops[Int(slots[o])].top(a.k)
                for j in 0..<a.k {
                    out[c + 2 * j] = j < top.count ? Double(top[j].id) : -1
                    out[c + 2 * j + 1] = j < top.count ? Double(top[j].count) : 0
                }
                continue
            }
            out[c] = v.isFinite ? v : 0
        }
    }

    /// Fast path of ``output(_:into:at:only:)`` for stores without sketches: flagged aggregates
    /// of entry `e` into `out[0...]`, through raw pointers (no per-column checks).
    @inline(__always)
    func outputScalars(_ e: Int32, into out: inout ContiguousArray<Double>, mask: ContiguousArray<Bool>) {
        let base = Int(e) * stride
        slots.withUnsafeBufferPointer { sb in
            aggs.withUnsafeBufferPointer { ab in
                mask.withUnsafeBufferPointer { mb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let s = sb.baseAddress! + base
                        for i in 0..<ab.count where mb[i] {
                            let a = ab[i]
                            let o = a.slot
                            var v = 0.0
                            switch a.op {
                            case .count: v = s[o]
                            case .sum: v = s[o] + s[o + 1]
                            case .mean: v = s[o] > 0 ? (s[o + 1] + s[o + 2]) / s[o] : 0
                            case .variance: v = s[o] > 1 ? Swift.max(0, s[o + 3] / (s[o] - 1)) : 0
                            case .std: v = s[o] > 1 ? Swift.max(0, s[o + 3] / (s[o] - 1)).squareRoot() : 0
                            case .min, .max, .ewma: v = s[o] > 0 ? s[o + 1] : 0
                            case .first, .last: v = s[o] > 0 ? s[o + 2] : 0
                            case .distinct, .quantile, .topK: v = 0
                            }
                            ob[a.column] = v.isFinite ? v : 0
                        }
                    }
                }
            }
        }
    }

    /// Prefetches the slots of entry `e` (a speed hint; `e` may be stale).
    @inline(__always)
    func prefetchRow(_ e: Int32) {
        let base = Int(e) * stride
        guard base + stride <= slots.count else { return }
        slots.withUnsafeBufferPointer { s in
            weir_prefetch(s.baseAddress! + base)
            weir_prefetch(s.baseAddress! + base + stride - 1)
        }
    }

    /// Bytes of storage held by the sketches (all entries, live or pooled): distinct-count
    /// registers, quantile levels, top-k counters; they grow with the data.
    public var sketchStorageBytes: Int { sketchBytes }

    /// Fixed bytes of state held by one entry: its slots and its sketches' headers; what the
    /// sketches hold, which grows with the data, is ``sketchStorageBytes``.
    public var bytesPerEntry: Int {
        var b = stride * 8
        for a in aggs {
            switch a.op {
            case .distinct: b += MemoryLayout<HyperLogLog>.stride
            case .quantile: b += MemoryLayout<KLLSketch>.stride
            case .topK: b += MemoryLayout<SpaceSaving>.stride
            default: break
            }
        }
        return b
    }
}
