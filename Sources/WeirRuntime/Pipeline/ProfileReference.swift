import WeirCore
import WeirDrift
import WeirStats
import WeirTopology

/// A problem with a reference profile file (`drift.reference: {profile: FILE}`): names the file
/// and, where one is at fault, the field.
public enum ProfileReferenceError: Error, Equatable, CustomStringConvertible {
    /// The file cannot be read.
    case cannotRead(path: String, detail: String)
    /// The bytes are not a profile this build can read (damaged, truncated, another format).
    case damaged(path: String, detail: String)
    /// The profile has no reference for a monitored field.
    case missingField(path: String, field: String, available: [String])
    /// The profile's reference of `field` does not fit the monitor (kind, bins, model inputs, categories).
    case mismatch(path: String, field: String, detail: String)
    /// The topology cannot use a profile (e.g. `drift.mode: contract`).
    case unsupported(path: String, detail: String)

    public var description: String {
        switch self {
        case let .cannotRead(p, d): return "\(p): cannot read the reference profile: \(d)"
        case let .damaged(p, d): return "\(p): not a valid reference profile (damaged or truncated): \(d)"
        case let .missingField(p, f, a):
            return "\(p): field '\(f)': the profile has no reference for this monitor (it has: \(a.isEmpty ? "none" : a.joined(separator: ", ")))"
        case let .mismatch(p, f, d): return "\(p): field '\(f)': \(d)"
        case let .unsupported(p, d): return "\(p): \(d)"
        }
    }

    static func describe(_ e: SerializationError) -> String {
        switch e {
        case let .truncated(o, n, a): return "truncated at byte \(o) (needed \(n) bytes, \(a) left)"
        case let .badTag(o, x, f): return "expected \(x) at byte \(o), found \(f)"
        case let .unsupportedVersion(t, v): return "\(t) version \(v) is not supported"
        case let .invalidValue(f, d): return "invalid \(f): \(d)"
        }
    }
}

/// Loading a profile for a topology: resolving its path, reading it, and checking each monitor's
/// reference against the monitor (kind, bins, the model's inputs for the score monitor).
enum ProfileReference {
    /// `path` relative to the directory of the topology file `topologyFile` (absolute paths as they are).
    static func resolve(_ path: String, topologyFile: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let slash = topologyFile.lastIndex(of: "/") else { return path }
        return String(topologyFile[...slash]) + path
    }

    static func load(_ path: String) throws(ProfileReferenceError) -> ReferenceProfile {
        do { return try ReferenceProfile.load(from: path) } catch {
            switch error {
            case let .cannotRead(p, d): throw .cannotRead(path: p, detail: d)
            case let .cannotWrite(p, d): throw .cannotRead(path: p, detail: d)
            case let .corrupt(p, e): throw .damaged(path: p, detail: ProfileReferenceError.describe(e))
            }
        }
    }

    /// The fixed reference of monitor `field` from `profile`, its categories re-interned in the
    /// decoder (`categoryField`: the schema field of a categorical monitor).
    static func reference(for field: String, kind: FieldKind, bins: Int, rescoring: RescoringConfig?, inputNames: [String],
                          categoryField: Int?, graph: inout StreamGraph,
                          profile: ReferenceProfile, path: String) throws(ProfileReferenceError) -> (ReferenceSpec, InputSample?) {
        guard let f = profile.field(field) else {
            throw .missingField(path: path, field: field, available: profile.fields.map(\.feature))
        }
        guard f.reference.kind == kind else {
            throw .mismatch(path: path, field: field,
                            detail: "the profile's reference is \(f.reference.kind.rawValue), the monitor is \(kind.rawValue)")
        }
        var ref = f.reference
        switch f.reference {
        case .numeric(let r):
            guard r.bins == bins else {
                throw .mismatch(path: path, field: field, detail: "the profile's reference has \(r.bins) bins, drift.bins is \(bins)")
            }
        case .categorical(let counts):
            guard let cf = categoryField else { break }
            var mapped = CategoryCounts()
            for id in counts.categories.sorted() {
                let n = counts.count(of: id)
                if id == FieldMonitor.overflowCategory { mapped.add(id, count: n); continue }
                guard Int(id) < f.categoryNames.count else {
                    throw .mismatch(path: path, field: field, detail: "category id \(id) has no name in the profile")
                }
                let name = f.categoryNames[Int(id)]
                guard let newID = graph.internCategory(field: cf, value: name) else {
                    throw .mismatch(path: path, field: field, detail: "category '\(name)' is not allowed by the schema")
                }
                mapped.add(newID, count: n)
            }
            ref = .categorical(mapped)
        case .empty:
            break
        }
        var inputs: InputSample?
        if let rc = rescoring {
            guard let given = f.inputs else {
                throw .mismatch(path: path, field: field, detail: "the profile holds no model inputs for the score (build it with weir profile from this topology)")
            }
            guard given.dimension == rc.dimension, profile.inputNames == inputNames else {
                throw .mismatch(path: path, field: field,
                                detail: "the profile's model inputs are [\(profile.inputNames.joined(separator: ", "))], the model reads [\(inputNames.joined(separator: ", "))]")
            }
            inputs = given
        }
        return (.fixed(ref, f.info), inputs)
    }
}
