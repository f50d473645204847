import Foundation

/// The contract's event file in memory: per line the value bytes, the key (`user`) and where the
/// `ts` digits are, so a message can be sent without parsing or copying on the first pass.
///
/// A run needs more events than the file holds (100k/s for 25 s is 2.5 M): pass `k` over the
/// file shifts every `ts` by `k × cycleShiftMs` (the file's event-time span, rounded up to a
/// second), so event time keeps increasing across passes instead of jumping back 1,000 s,
/// which would make every later event late for the windows. Only the digits change (same count).
struct Workload {
    struct Line {
        var start: Int
        var end: Int
        var keyStart: Int
        var keyEnd: Int
        var tsStart: Int
        var tsEnd: Int
        var ts: Int64
    }

    let data: [UInt8]
    let lines: [Line]
    let cycleShiftMs: Int64

    init(path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw LatencyBenchError.failed("cannot read \(path) (../shared/bench/gen_events.py 1000000 \(path))")
        }
        data = Array(d)
        var out: [Line] = []
        out.reserveCapacity(1_000_000)
        let userTag = Array("\"user\":\"".utf8), tsTag = Array("\"ts\":".utf8)
        var minTs = Int64.max, maxTs = Int64.min
        try data.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                var j = i
                while j < b.count && b[j] != 0x0A { j += 1 }
                if j > i {
                    guard let u = Workload.find(userTag, in: b, from: i, to: j), let t = Workload.find(tsTag, in: b, from: i, to: j) else {
                        throw LatencyBenchError.failed("\(path): line at byte \(i) has no \"user\" or \"ts\"")
                    }
                    let k = u + userTag.count
                    var ke = k
                    while ke < j && b[ke] != 0x22 { ke += 1 }
                    let ts0 = t + tsTag.count
                    var te = ts0, ts: Int64 = 0
                    while te < j, b[te] >= 0x30, b[te] <= 0x39 { ts = ts * 10 + Int64(b[te] - 0x30); te += 1 }
                    guard te > ts0 else { throw LatencyBenchError.failed("\(path): line at byte \(i): \"ts\" is not an integer") }
                    out.append(Line(start: i, end: j, keyStart: k, keyEnd: ke, tsStart: ts0, tsEnd: te, ts: ts))
                    minTs = min(minTs, ts)
                    maxTs = max(maxTs, ts)
                }
                i = j + 1
            }
        }
        guard !out.isEmpty else { throw LatencyBenchError.failed("\(path) holds no events") }
        lines = out
        cycleShiftMs = ((maxTs - minTs) / 1000 + 2) * 1000
    }

    static func find(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        outer: while i + needle.count <= to {
            for k in 0..<needle.count where hay[i + k] != needle[k] {
                i += 1
                continue outer
            }
            return i
        }
        return nil
    }

    /// Writes event `i`'s value (with `ts` shifted for its pass over the file) into `buffer` and
    /// returns its length; on the first pass the file bytes are used as they are (`nil`).
    func shiftedValue(_ i: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        let pass = i / lines.count
        guard pass > 0 else { return nil }
        let l = lines[i % lines.count]
        let n = l.end - l.start
        data.withUnsafeBufferPointer { b in
            for k in 0..<n { buffer[k] = b[l.start + k] }
        }
        var ts = l.ts + Int64(pass) * cycleShiftMs
        var p = l.tsEnd - l.start - 1
        // Same digit count: ts < 10^13 for any realistic shift of 2023 epoch millis.
        while p >= l.tsStart - l.start {
            buffer[p] = UInt8(0x30 + ts % 10)
            ts /= 10
            p -= 1
        }
        return n
    }
}
