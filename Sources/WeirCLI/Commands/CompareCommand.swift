import ArgumentParser
import Foundation
import WeirDrift

/// `weir compare REFERENCE CURRENT [--field NAME] [--categorical] [--bins N]`: compares two samples
/// given as files and prints the drift record as one JSON line (see docs/drift.md).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two samples (JSONL events or one value per line) and print the drift record as JSON.",
        discussion: """
            Files hold JSONL events (use --field to say which field to read) or one value per line. \
            Numeric fields get psi, ks_statistic, ks_pvalue (scipy ks_2samp default method), wasserstein, \
            wasserstein_normalized and js_distance; --categorical fields get psi, chi2_statistic, chi2_pvalue, \
            chi2_dof, js_distance and new_categories. Bad lines are reported as FILE:LINE: problem (exit 1).
            """
    )

    @Argument(help: "The reference sample file.")
    var reference: String

    @Argument(help: "The current sample file.")
    var current: String

    @Option(help: "Field to read from JSONL events (without it: one value per line).")
    var field: String?

    @Flag(help: "Treat values as categories.")
    var categorical = false

    @Option(help: "Number of quantile bins for PSI and Jensen-Shannon (numeric fields).")
    var bins: Int = 10

    func validate() throws {
        guard (2...10_000).contains(bins) else { throw ValidationError("--bins must be in 2...10000 (got \(bins))") }
    }

    func run() throws {
        let options = CompareOptions(field: field, categorical: categorical, bins: bins)
        do {
            for line in try DriftCompare.run(referencePath: reference, currentPath: current, options: options) {
                print(line)
            }
        } catch {
            FileHandle.standardError.write(Data("weir compare: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
