import Foundation

/// The contract's expected outputs for N = 1,000,000 (../shared/bench/README.md). For other N
/// only the drift record count is fixed (3 per 10,000-event window after the 20% reference).
struct Expected {
    let n: Int
    var driftWindows: Int { (n - n / 5) / 10_000 }
    var driftRecords: Int { 3 * driftWindows }
    var alerts: Int? { n == 1_000_000 ? 2 : nil }
    var windows: Int? { n == 1_000_000 ? 16 : nil }
    var windowCountSum: Int? { n == 1_000_000 ? 4_104_973 : nil }
}

/// The contract outputs of one participant (drift, alerts, windows), as read back.
struct ContractOutputs {
    var drift: [[String: Any]] = []
    var alerts: [[String: Any]] = []
    var windows: [[String: Any]] = []

    static func parse(_ lines: [String]) -> [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Reads JSONL files `<prefix>drift<suffix>` etc.
    static func files(drift: String, alerts: String, windows: String) -> ContractOutputs {
        func read(_ p: String) -> [[String: Any]] {
            guard let t = try? String(contentsOfFile: p, encoding: .utf8) else { return [] }
            return parse(t.split(separator: "\n").map(String.init))
        }
        return ContractOutputs(drift: read(drift), alerts: read(alerts), windows: read(windows))
    }

    /// A window record's `count`: Weir nests aggregates under `values`, the peers write them flat.
    static func windowCount(_ w: [String: Any]) -> Int {
        let v = (w["values"] as? [String: Any]) ?? w
        return (v["count"] as? NSNumber)?.intValue ?? 0
    }

    var windowCountSum: Int { windows.reduce(0) { $0 + Self.windowCount($1) } }

    /// `feature@window` of each alert, in order.
    var alertList: String {
        alerts.map { "\($0["feature"] ?? "?")@\($0["window"] ?? "?")" }.joined(separator: " ")
    }

    /// Whether the counts (and, for N = 1M, the window checksum) match the contract; with the
    /// reason when not.
    func check(_ e: Expected) -> (ok: Bool, text: String) {
        var problems: [String] = []
        if drift.count != e.driftRecords { problems.append("drift \(drift.count) != \(e.driftRecords)") }
        if let a = e.alerts, alerts.count != a { problems.append("alerts \(alerts.count) != \(a)") }
        if let w = e.windows, windows.count != w { problems.append("windows \(windows.count) != \(w)") }
        if let s = e.windowCountSum, windowCountSum != s { problems.append("Σ window count \(windowCountSum) != \(s)") }
        let features = Set(alerts.compactMap { $0["feature"] as? String })
        if alerts.count == 2 && features != ["amount", "score"] { problems.append("alerts on \(features.sorted()) (expected amount, score)") }
        let summary = "\(drift.count)/\(alerts.count)/\(windows.count) [\(alertList)]"
        return (problems.isEmpty, problems.isEmpty ? summary : summary + " — " + problems.joined(separator: "; "))
    }

    /// Compares drift records and alerts with another participant's (same stream order, e.g.
    /// `weir replay` vs the in-memory peer): same windows, features and verdicts, statistics
    /// within `relative`. Returns the number of differing records and the first difference.
    func compare(with other: ContractOutputs, relative: Double = 1e-9) -> (differences: Int, first: String?) {
        var diffs = 0
        var first: String?
        func note(_ s: String) { diffs += 1; if first == nil { first = s } }
        if drift.count != other.drift.count { note("drift records \(drift.count) vs \(other.drift.count)") }
        for (a, b) in zip(drift, other.drift) {
            let same = (a["window"] as? Int) == (b["window"] as? Int) && (a["feature"] as? String) == (b["feature"] as? String)
                && (a["drift"] as? Bool) == (b["drift"] as? Bool) && (a["n"] as? Int) == (b["n"] as? Int)
            var close = true
            for k in ["psi", "ks", "p"] {
                let x = (a[k] as? NSNumber)?.doubleValue ?? .nan, y = (b[k] as? NSNumber)?.doubleValue ?? .nan
                if !(abs(x - y) <= relative * max(abs(x), abs(y)) || abs(x - y) <= 1e-300) { close = false }
            }
            if !same || !close { note("drift \(a) vs \(b)") }
        }
        if alertList != other.alertList { note("alerts [\(alertList)] vs [\(other.alertList)]") }
        if windows.count != other.windows.count || windowCountSum != other.windowCountSum {
            note("windows \(windows.count) (Σ count \(windowCountSum)) vs \(other.windows.count) (Σ count \(other.windowCountSum))")
        }
        return (diffs, first)
    }
}

/// Counts of records already in the output topics, so each participant's outputs are the
/// records appended after it started (the topics have one partition each).
struct TopicMarks {
    var drift = 0, alerts = 0, windows = 0
}

func readContractTopics(kcat: String, bootstrap: String) throws -> (lines: [String: [String]], marks: TopicMarks) {
    var lines: [String: [String]] = [:]
    for t in ["drift", "alerts", "windows"] { lines[t] = try readTopic(kcat, bootstrap: bootstrap, topic: t) }
    return (lines, TopicMarks(drift: lines["drift"]!.count, alerts: lines["alerts"]!.count, windows: lines["windows"]!.count))
}

/// The records each topic gained since `marks`.
func newOutputs(kcat: String, bootstrap: String, since marks: TopicMarks) throws -> (ContractOutputs, TopicMarks) {
    let (lines, now) = try readContractTopics(kcat: kcat, bootstrap: bootstrap)
    let out = ContractOutputs(
        drift: ContractOutputs.parse(Array(lines["drift"]!.dropFirst(marks.drift))),
        alerts: ContractOutputs.parse(Array(lines["alerts"]!.dropFirst(marks.alerts))),
        windows: ContractOutputs.parse(Array(lines["windows"]!.dropFirst(marks.windows))))
    return (out, now)
}

/// Extracts the number after `label` in `text` (last occurrence), e.g. "log loss 0.3542,".
func number(after label: String, in text: String) -> Double? {
    guard let r = text.range(of: label, options: .backwards) else { return nil }
    let tail = text[r.upperBound...].drop { $0 == " " }
    let digits = tail.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "+" }
    return Double(digits)
}
