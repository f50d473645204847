import Foundation

extension FraudBench {
    /// The table of every participant per run, and the issue-7 targets per `weir run` variant.
    func report() {
        print("\n== Results (N = \(opts.n); load average now \(loadAverage()))")
        let header = ["run", "participant", "events/s", "whole s", "Weir/this", "peak RSS MiB", "outputs drift/alerts/windows", "log loss"]
        var table: [[String]] = [header]
        for run in 1...opts.runs {
            let rs = rows.filter { $0.run == run }
            let weir = rs.first { $0.kind == .weirRun }?.rate
            for r in rs {
                let ratio: String
                if r.kind == .weirRun || r.kind == .replay { ratio = "" } else if let w = weir, let x = r.rate, x > 0 { ratio = fmt(w / x, 2) + "x" } else { ratio = "-" }
                table.append(["\(run)", r.name, r.rate.map { "\(Int($0))" } ?? "-", fmt(r.wallSeconds, 2), ratio,
                              r.rssMiB.map { fmt($0, 0) } ?? "?",
                              (r.outputsOK.map { $0 ? "OK " : "BAD " } ?? "") + r.outputs, r.logLoss.map { fmt($0, 5) } ?? "-"])
            }
        }
        printTable(table)
        print("  (Weir/this = the first weir run variant's events/s over this participant's; kcat's rate is its whole process.)")

        print("\n== Targets (issue 7), per run and weir run variant")
        for run in 1...opts.runs {
            let rs = rows.filter { $0.run == run }
            let kcat = rs.first { $0.kind == .read }?.rate
            let peers = rs.filter { $0.kind == .kafkaPeer }.compactMap { r in r.rate.map { (r.name, $0) } }
            let best = peers.max { $0.1 < $1.1 }
            let mem = rs.first { $0.kind == .memPeer }
            let plain = rs.first { $0.kind == .kafkaPeer }
            // River's log loss: the in-memory (file order) peer if it ran, else a Kafka peer.
            let riverLoss = mem?.logLoss ?? plain?.logLoss
            for w in rs where w.kind == .weirRun {
                print("  run \(run), \(w.name):")
                let rate = w.rate ?? 0
                line("≥ 500,000 events/s end to end", "\(Int(rate)) events/s (whole process \(Int(Double(opts.n) / w.wallSeconds))/s)", rate >= 500_000)
                if let best {
                    line("≥ 12x the best Python peer", "\(fmt(rate / best.1))x \(best.0) (\(Int(best.1))/s)", rate >= 12 * best.1)
                } else {
                    line("≥ 12x the best Python peer", "no Kafka peer in this run", nil)
                }
                if let kcat {
                    line("within 1.3x of kcat's raw read", "kcat \(Int(kcat))/s; kcat/Weir = \(fmt(kcat / max(rate, 1)))x", rate * 1.3 >= kcat)
                } else {
                    line("within 1.3x of kcat's raw read", "kcat not run", nil)
                }
                line("peak RSS < 300 MB", w.rssMiB.map { "\(fmt($0 * 1.048576, 0)) MB (\(fmt($0, 0)) MiB)" } ?? "unknown", w.rssMiB.map { $0 * 1.048576 < 300 })
                var same = w.outputs
                var ok = w.outputsOK ?? false
                if let l = w.logLoss, let r = riverLoss {
                    // Both print 5 decimals: allow the two roundings (2 × 5e-6) on top of 1e-4.
                    let d = abs(l - r)
                    same += "; log loss \(fmt(l, 5)) vs River \(fmt(r, 5)) (Δ \(String(format: "%.1e", d)), both printed to 5 decimals)"
                    ok = ok && d <= 1e-4 + 1e-5
                } else {
                    same += "; log loss not compared (\(w.logLoss == nil ? "weir printed none" : "no River peer ran"))"
                    ok = false
                }
                line("same outputs (240 drift, 2 alerts, 16 windows, log loss ±1e-4)", same, ok)
            }
        }
    }

    private func line(_ target: String, _ measured: String, _ pass: Bool?) {
        let v = pass.map { $0 ? "PASS" : "FAIL" } ?? "n/a "
        print("    [\(v)] \(target): \(measured)")
    }

    private func printTable(_ t: [[String]]) {
        var widths = [Int](repeating: 0, count: t[0].count)
        for r in t { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        for (k, r) in t.enumerated() {
            print("  " + r.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: " | "))
            if k == 0 { print("  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")) }
        }
    }
}
