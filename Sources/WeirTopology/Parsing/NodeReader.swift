import Yams

/// Typed reads of YAML nodes that report problems to a ``DiagnosticCollector`` and return nil,
/// instead of throwing, so parsing continues and every problem is reported.
struct NodeReader {
    let diags: DiagnosticCollector

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The entries of a mapping, in file order; unknown keys are reported with the allowed ones.
    func mapping(_ node: Node?, _ what: String, allowed: [String]) -> [(key: String, keyNode: Node, value: Node)]? {
        guard let node else { return nil }
        guard case .mapping(let m) = node else {
            diags.error(node, "\(what) must be a mapping, got \(describe(node))")
            return nil
        }
        var out: [(String, Node, Node)] = []
        for (k, v) in m {
            guard let key = k.string else {
                diags.error(k, "\(what): keys must be strings")
                continue
            }
            if !allowed.isEmpty && !allowed.contains(key) {
                var msg = "unknown key '\(key)' in \(what)"
                if let s = suggestion(for: key, in: allowed) { msg += "; did you mean '\(s)'?" }
                msg += " (allowed: \(allowed.joined(separator: ", ")))"
                diags.error(k, msg)
                continue
            }
            out.append((key, k, v))
        }
        return out
    }

    /// A YAML null (`null`, `~`, or an empty value): "turned off" where a key allows it.
    func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node { return s.tag == Tag(.null) || s.string == "null" || s.string == "~" }
        return false
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let s) = node, s.tag.rawValue != Tag.Name.null.rawValue || !s.string.isEmpty else {
            diags.error(node, "\(what) must be a string, got \(describe(node))")
            return nil
        }
        return s.string
    }

    func identifier(_ node: Node, _ what: String) -> String? {
        guard let s = string(node, what) else { return nil }
        guard !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
            diags.error(node, "\(what) '\(s)' must be non-empty and use only letters, digits, '_', '-' and '.'")
            return nil
        }
        return s
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        if case .scalar = node, let b = node.bool { return b }
        diags.error(node, "\(what) must be true or false, got \(describe(node))")
        return nil
    }

    func int(_ node: Node, _ what: String, min: Int? = nil) -> Int? {
        guard case .scalar(let s) = node, let v = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            diags.error(node, "\(what) must be a whole number, got \(describe(node))")
            return nil
        }
        if let min, v < min {
            diags.error(node, "\(what) must be at least \(min), got \(v)")
            return nil
        }
        return v
    }

    func double(_ node: Node, _ what: String) -> Double? {
        guard case .scalar(let s) = node, let v = Double(s.string.replacingOccurrences(of: "_", with: "")), v.isFinite else {
            diags.error(node, "\(what) must be a number, got \(describe(node))")
            return nil
        }
        return v
    }

    /// `250ms`, `2s`, `5m`, `1h`, `1d`, or a whole number of milliseconds.
    func duration(_ node: Node, _ what: String) -> Int64? {
        guard case .scalar(let s) = node else {
            diags.error(node, "\(what) must be a duration like 500ms, 2s, 5m or 1h, got \(describe(node))")
            return nil
        }
        let text = s.string.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        if let v = Int64(text), v >= 0 { return v }
        for (suffix, mult) in units where text.hasSuffix(suffix) {
            let num = text.dropLast(suffix.count)
            if let v = Int64(num), v >= 0, !(suffix == "m" && text.hasSuffix("ms")) { return v * mult }
        }
        diags.error(node, "\(what) must be a duration like 500ms, 2s, 5m or 1h, got '\(text)'")
        return nil
    }

    /// `512MiB`, `2GiB`, `800MB`, `1.5GB`, `64KiB`, or a whole number of bytes (binary units
    /// KiB/MiB/GiB/TiB are powers of 1024, decimal KB/MB/GB/TB powers of 1000).
    func byteSize(_ node: Node, _ what: String) -> Int? {
        let hint = "a size like 512MiB, 2GiB or 800MB"
        guard case .scalar(let s) = node else {
            diags.error(node, "\(what) must be \(hint), got \(describe(node))")
            return nil
        }
        let text = s.string.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        if let v = Int(text), v > 0 { return v }
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024), ("TiB", 1024 * 1024 * 1024 * 1024),
                                         ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)]
        for (suffix, mult) in units where text.hasSuffix(suffix) {
            let num = text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            if let v = Double(num), v > 0, v.isFinite, v * mult < 9e18 { return Int(v * mult) }
        }
        diags.error(node, "\(what) must be \(hint), got '\(text)'")
        return nil
    }

    func list(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let seq) = node else {
            diags.error(node, "\(what) must be a list, got \(describe(node))")
            return nil
        }
        return Array(seq)
    }

    func stringList(_ node: Node, _ what: String) -> [String]? {
        guard let items = list(node, what) else { return nil }
        return items.compactMap { string($0, "an item of \(what)") }
    }

    func oneOf<E: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, _: E.Type) -> E? where E.RawValue == String {
        guard let s = string(node, what) else { return nil }
        if let v = E(rawValue: s) { return v }
        let allowed = E.allCases.map(\.rawValue)
        var msg = "\(what) '\(s)' is not allowed"
        if let sug = suggestion(for: s, in: allowed) { msg += "; did you mean '\(sug)'?" }
        diags.error(node, msg + " (allowed: \(allowed.joined(separator: ", ")))")
        return nil
    }
}

import Foundation
