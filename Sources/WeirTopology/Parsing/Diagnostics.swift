import Yams

/// One problem in a topology file: where, what is wrong, and (in the message) what is allowed.
public struct TopologyDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }
    /// `file:line:column: error: message`, the format editors and CI annotate.
    public var description: String { "\(location): error: \(message)" }
}

/// Every problem found in a topology file, in file order. Loading reports all of them at once.
public struct TopologyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var diagnostics: [TopologyDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while parsing, so one bad value does not hide the next.
final class DiagnosticCollector {
    let file: String
    private(set) var items: [TopologyDiagnostic] = []

    init(file: String) { self.file = file }

    func location(_ node: Node?) -> SourceLocation {
        SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    func error(_ node: Node?, _ message: String) {
        items.append(TopologyDiagnostic(location: location(node), message: message))
    }

    func error(at location: SourceLocation, _ message: String) {
        items.append(TopologyDiagnostic(location: location, message: message))
    }

    var sorted: [TopologyDiagnostic] {
        items.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }
}

/// The closest candidate to `word` by edit distance, if close enough to be a likely typo.
func suggestion(for word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var cur = [i + 1] + [Int](repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                cur[j + 1] = Swift.min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word.lowercased())
    let best = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= Swift.max(2, w.count / 3) else { return nil }
    return best.0
}
