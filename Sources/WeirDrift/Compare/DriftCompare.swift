import Foundation
import WeirStats

/// Why `weir compare` could not compare two files. Descriptions name the file and the 1-based line.
public enum CompareError: Error, Equatable, CustomStringConvertible {
    case cannotRead(file: String, detail: String)
    case badLine(file: String, line: Int, detail: String)
    /// The file has no value lines at all (empty or blank).
    case noValues(file: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .cannotRead(let f, let d): return "\(f): cannot read: \(d)"
        case .badLine(let f, let l, let d): return "\(f):\(l): \(d)"
        case .noValues(let f): return "\(f): no values (empty file)"
        case .invalidOption(let d): return "invalid option: \(d)"
        }
    }
}

/// Options of `weir compare`.
public struct CompareOptions: Sendable, Equatable {
    /// Field to read from JSONL events; nil: one value per line.
    public var field: String?
    public var categorical: Bool
    /// PSI / JS quantile bins (numeric).
    public var bins: Int
    /// The verdict written as `drifted` (default policy, without a minimum window size).
    public var policy: DriftPolicy

    public init(field: String? = nil, categorical: Bool = false, bins: Int = 10,
                policy: DriftPolicy = DriftPolicy(minWindowSize: 1)) {
        self.field = field; self.categorical = categorical; self.bins = bins; self.policy = policy
    }
}

/// Values read from one file: numeric values (finite and non-finite) or category strings, plus quality.
public struct LoadedSample: Sendable, Equatable {
    public var values: [Double] = []
    public var categories: [String] = []
    public var quality = QualityCounters()
    /// Value lines read (blank lines are skipped).
    public var lines = 0
}

/// The logic behind `weir compare REFERENCE CURRENT [--field NAME] [--categorical] [--bins N]`.
///
/// Each file holds either JSONL events (with `field`: one JSON object per line; the field's value is
/// read; absent/null counts as missing, a wrong type as invalid) or one value per line (without
/// `field`; lines are parsed strictly by ``JSONLineScanner``, numbers correctly rounded). Blank lines are skipped. Numeric lines may be `nan`/`inf` (counted in quality, excluded).
/// The result is one ``DriftRecord`` (window 0, `window_start` 0, `window_end` = value lines of the
/// current file; `reference.kind` "file", `reference_id` = the reference path), KS p-value by scipy's
/// default method, no per-window sample cap.
public enum DriftCompare {
    /// Reads and compares two files; returns the JSON lines to print.
    public static func run(referencePath: String, currentPath: String, options: CompareOptions) throws(CompareError) -> [String] {
        let r = try load(path: referencePath, options: options)
        let c = try load(path: currentPath, options: options)
        return [try compare(reference: r, current: c, referenceID: referencePath, options: options).json()]
    }

    /// Reads one file.
    public static func load(path: String, options: CompareOptions) throws(CompareError) -> LoadedSample {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .cannotRead(file: path, detail: (error as NSError).localizedDescription)
        }
        return try parse(text: text, file: path, options: options)
    }

    /// Parses file contents (`file` is only used in error messages).
    public static func parse(text: String, file: String, options: CompareOptions) throws(CompareError) -> LoadedSample {
        var out = LoadedSample()
        var lineNo = 0
        for sub in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = sub.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            out.lines += 1
            if let field = options.field {
                var scanner = JSONLineScanner(Substring(line))
                let value: JSONLineScanner.Value?
                do { value = try scanner.field(field) } catch {
                    switch error {
                    case .notAnObject:
                        throw .badLine(file: file, line: lineNo, detail: "expected a JSON object with field \"\(field)\"")
                    case .invalid(let why):
                        throw .badLine(file: file, line: lineNo, detail: "not valid JSON: \(why)")
                    }
                }
                record(value, into: &out, categorical: options.categorical)
            } else {
                if line.hasPrefix("{") {
                    throw .badLine(file: file, line: lineNo, detail: "a JSON object, but no --field was given")
                }
                if options.categorical {
                    out.quality.recordCategory(known: true)
                    out.categories.append(line)
                } else {
                    guard let x = Double(line) else {
                        throw .badLine(file: file, line: lineNo, detail: "not a number: \"\(line.prefix(40))\"")
                    }
                    out.quality.record(x)
                    out.values.append(x)
                }
            }
        }
        if out.lines == 0 { throw .noValues(file: file) }
        return out
    }

    static func record(_ v: JSONLineScanner.Value?, into out: inout LoadedSample, categorical: Bool) {
        switch v {
        case nil, .null?:
            out.quality.recordMissing()
        case .bool?, .composite?:
            out.quality.recordInvalidType()
        case .string(let s)?:
            if categorical { out.quality.recordCategory(known: true); out.categories.append(s) } else { out.quality.recordInvalidType() }
        case .number(let x)?:
            if categorical {
                // numeric category codes: the shortest text of the number (1 and 1.0 are the same category)
                out.quality.recordCategory(known: true)
                out.categories.append(x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)")
            } else {
                out.quality.record(x)
                out.values.append(x)
            }
        }
    }

    /// Compares two loaded samples into one drift record.
    public static func compare(reference r: LoadedSample, current c: LoadedSample, referenceID: String,
                               options: CompareOptions) throws(CompareError) -> DriftRecord {
        guard (2...10_000).contains(options.bins) else { throw .invalidOption("--bins \(options.bins) not in 2...10000") }
        let feature = options.field ?? "value"
        var stats: WindowStatistics
        var nRef = 0, nCur = 0
        var quality = QualityFigures(c.quality)
        var histogram: DriftHistogram?
        if options.categorical {
            var ids: [String: Int32] = [:]
            var names: [String] = []
            func intern(_ s: String) -> Int32 {
                if let i = ids[s] { return i }
                let i = Int32(names.count); ids[s] = i; names.append(s); return i
            }
            let rc = CategoryCounts(ids: r.categories.map(intern))
            let cc = CategoryCounts(ids: c.categories.map(intern))
            nRef = rc.total; nCur = cc.total
            if nRef == 0 { stats = .undefined(.emptyReference) }
            else if nCur == 0 { stats = .undefined(.emptyCurrent) }
            else {
                do {
                    let cmp = try CategoricalDrift.compare(reference: rc, current: cc)
                    stats = .categorical(CategoricalStatistics(cmp, name: { names[Int($0)] }))
                    histogram = DriftHistogram(reference: rc, current: cc, name: { names[Int($0)] })
                    quality.newCategories = cmp.newCategories.count
                    quality.newCategoryValues = cmp.newCategoryValueCount
                } catch { stats = .undefined(.emptyCurrent) }
            }
        } else {
            let rv = FiniteValues.filter(r.values).finite
            var cv = FiniteValues.filter(c.values).finite
            nRef = rv.count; nCur = cv.count
            if rv.isEmpty { stats = .undefined(.emptyReference) }
            else if cv.isEmpty { stats = .undefined(.emptyCurrent) }
            else {
                do {
                    let ref = try NumericReference(sample: rv, bins: options.bins)
                    InPlaceSort.sort(&cv)
                    stats = .numeric(NumericStatistics(try ref.compare(sortedCurrent: cv)))
                    histogram = DriftHistogram(reference: ref, sortedCurrent: cv)
                } catch {
                    throw .invalidOption("\(error)")
                }
            }
        }
        let verdict = options.policy.evaluate(stats, nCurrent: nCur)
        return DriftRecord(
            feature: feature, kind: options.categorical ? .categorical : .numeric, window: 0, windowType: .count,
            windowStart: 0, windowEnd: Int64(c.lines),
            reference: ReferenceInfo(kind: .file, id: referenceID, n: nRef),
            nReference: nRef, nCurrent: nCur, statistics: stats, drifted: verdict.isDrifted,
            driftReasons: verdict.reasons, quality: quality, sampling: SamplingInfo(cap: nil, seen: nCur, kept: nCur),
            histogram: histogram)
    }
}
