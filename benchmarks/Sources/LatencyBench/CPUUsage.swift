import BenchSupport
import Foundation

/// CPU time of processes and their threads from /proc (Linux), to say where the cores went
/// during the measured window: weir, the broker, this benchmark, and the whole machine.
struct CPUSnapshot {
    var ns: Int64
    /// utime + stime in clock ticks, per pid.
    var process: [Int32: Int64] = [:]
    /// utime + stime per thread of each pid.
    var threads: [Int32: [Int32: Int64]] = [:]
    /// Busy ticks of the whole machine (/proc/stat `cpu` line: all but idle and iowait).
    var machineBusy: Int64 = 0

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pids: [Int32], threadsOf: Set<Int32>) {
        ns = monoNs()
        for pid in pids {
            process[pid] = Self.ticks("/proc/\(pid)/stat")
            guard threadsOf.contains(pid), let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { continue }
            var t: [Int32: Int64] = [:]
            for tid in tids { if let id = Int32(tid), let v = Self.ticks("/proc/\(pid)/task/\(tid)/stat") { t[id] = v } }
            threads[pid] = t
        }
        if let s = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = s.split(separator: "\n").first {
            let f = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
            // user nice system idle iowait irq softirq steal ...
            if f.count >= 8 { machineBusy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7] }
        }
    }

    /// utime + stime (fields 14 and 15) of a /proc stat file; the command name may hold spaces.
    static func ticks(_ path: String) -> Int64? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        let f = s[s.index(after: close)...].split(separator: " ")
        // After ")": state(3) ppid(4) ... utime is field 14 → index 11 here.
        guard f.count > 12, let u = Int64(f[11]), let k = Int64(f[12]) else { return nil }
        return u + k
    }
}

/// Cores used between two snapshots.
struct CPUUse {
    var weir = 0.0, weirBusiestThread = 0.0, broker = 0.0, bench = 0.0, machine = 0.0

    init() {}

    init(from a: CPUSnapshot, to b: CPUSnapshot, weir: Int32, broker: Int32, bench: Int32) {
        let secs = Double(b.ns - a.ns) / 1e9
        guard secs > 0 else { return }
        func cores(_ pid: Int32) -> Double {
            guard let x = a.process[pid], let y = b.process[pid] else { return 0 }
            return Double(y - x) / CPUSnapshot.ticksPerSecond / secs
        }
        self.weir = cores(weir)
        self.broker = cores(broker)
        self.bench = cores(bench)
        if let ta = a.threads[weir], let tb = b.threads[weir] {
            weirBusiestThread = tb.compactMap { tid, v in ta[tid].map { Double(v - $0) } }.max().map { $0 / CPUSnapshot.ticksPerSecond / secs } ?? 0
        }
        machine = Double(b.machineBusy - a.machineBusy) / CPUSnapshot.ticksPerSecond / secs
    }

    var text: String {
        "weir \(fmt(weir)) (busiest thread \(fmt(weirBusiestThread))), broker \(fmt(broker)), LatencyBench (producer + reader) \(fmt(bench)), "
            + "whole machine \(fmt(machine)) of \(ProcessInfo.processInfo.activeProcessorCount)"
    }
}
