import Foundation
import Prometheus
import WeirService

/// The process-wide registry behind swift-metrics in this test bundle (bootstrapped once).
let sharedRegistry: PrometheusCollectorRegistry = OperationsEndpoint.bootstrapMetrics()

/// One sample of a Prometheus text exposition: name, labels, value.
struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// A small parser for the text format's sample lines (`name{a="x",b="y"} 1.5`), written for these
/// tests from the format's definition (the process tests use Python prometheus_client instead).
func parseExposition(_ text: String) -> [Sample] {
    var out: [Sample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        let head = line[..<space]
        var labels: [String: String] = [:]
        var name = String(head)
        if let brace = head.firstIndex(of: "{") {
            name = String(head[..<brace])
            var rest = head[head.index(after: brace)...].dropLast()  // without the closing brace
            while let eq = rest.firstIndex(of: "=") {
                let key = String(rest[..<eq]).trimmingCharacters(in: CharacterSet(charactersIn: ","))
                var i = rest.index(eq, offsetBy: 2)  // after ="
                var v = ""
                while i < rest.endIndex && rest[i] != "\"" {
                    if rest[i] == "\\" { i = rest.index(after: i) }
                    v.append(rest[i])
                    i = rest.index(after: i)
                }
                labels[key] = v
                rest = i < rest.endIndex ? rest[rest.index(after: i)...] : ""
            }
        }
        out.append(Sample(name: name, labels: labels, value: value))
    }
    return out
}

extension Array where Element == Sample {
    /// The value of the sample named `name` whose labels include `labels` (nil: none or several).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let m = filter { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }
        return m.count == 1 ? m[0].value : nil
    }
}
