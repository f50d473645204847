import Foundation
import WeirModel

/// Loads a fixture file from the test bundle's Fixtures folder.
func fixtureText(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureError.missing(name)
    }
    return try String(contentsOf: url, encoding: .utf8)
}

enum FixtureError: Error { case missing(String), malformed(String) }

/// One row of the River parity stream.
struct ParityRow {
    var x: [Double]
    var cat: Int
    var y: Double
    var pSGD: Double
}

/// The River parity stream (see scripts/fixtures/model_gen_river_parity.py).
func loadParityRows() throws -> [ParityRow] {
    let text = try fixtureText("model_river_parity.csv")
    var rows = [ParityRow]()
    rows.reserveCapacity(50_000)
    for line in text.split(separator: "\n").dropFirst() {
        let f = line.split(separator: ",")
        guard f.count == 7, let a = Double(f[0]), let b = Double(f[1]), let c = Double(f[2]), let d = Double(f[3]),
              let k = Int(f[4]), let y = Double(f[5]), let p = Double(f[6]) else { throw FixtureError.malformed(String(line)) }
        rows.append(ParityRow(x: [a, b, c, d], cat: k, y: y, pSGD: p))
    }
    return rows
}

/// River's summary lines: optimizer → (logloss, accuracy).
func loadParitySummary() throws -> [String: (Double, Double)] {
    var out = [String: (Double, Double)]()
    for line in try fixtureText("model_river_parity_summary.txt").split(separator: "\n") {
        let f = line.split(separator: " ")
        guard f.count == 5, let ll = Double(f[2]), let acc = Double(f[4]) else { throw FixtureError.malformed(String(line)) }
        out[String(f[0])] = (ll, acc)
    }
    return out
}

/// Layout of the parity stream: 4 numeric + 8 one-hot slots, one sparse entry per event.
let parityLayout = FeatureLayout(numericCount: 4, sparseDimension: 8, sparseCapacity: 1)

func fill(_ input: inout ModelInput, _ row: ParityRow) {
    for i in 0..<4 { input.setNumeric(i, row.x[i]) }
    input.removeAllSparse()
    input.appendSparse(index: Int32(row.cat), value: 1)
}
