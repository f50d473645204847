#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WeirStats

/// A saved reference: per field, the prepared reference and how it was built. Written by Weir and
/// reloadable, so later runs compare against exactly the same reference.
///
/// File format (version 2, little-endian, see ``ByteWriter``): header "WRPF" + UInt16 version,
/// the profile id (length-prefixed UTF-8), a description, the topology name and the model's input
/// names (version 2), the field count, then per field: name, ``ReferenceInfo`` ("WRIN"),
/// ``FieldReference`` ("WFRF", which embeds NumericReference "WNRF" — the sorted sample or sketch
/// grid, bin count, moments and source — or CategoryCounts "WCAT"), and (version 2) the names of
/// the category ids the counts use and the reference events' model inputs (``InputSample``
/// "WINS", score monitors under a fixed model only). Edges and bin counts are recomputed on load
/// bit-identically, so results are identical. Version 1 files (no topology, names or inputs) load.
public struct ReferenceProfile: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var feature: String
        public var reference: FieldReference
        public var info: ReferenceInfo
        /// Categorical fields: the name of each category id the counts use (index = id), so a run
        /// whose decoder interns names in another order can map them (version 2; empty in version 1).
        public var categoryNames: [String]
        /// Score monitors under a fixed model: the reference events' model inputs, re-scored by the
        /// model at each window close (version 2; nil otherwise).
        public var inputs: InputSample?
        public init(feature: String, reference: FieldReference, info: ReferenceInfo,
                    categoryNames: [String] = [], inputs: InputSample? = nil) {
            self.feature = feature; self.reference = reference; self.info = info
            self.categoryNames = categoryNames; self.inputs = inputs
        }
    }

    public var id: String
    public var description: String
    public var fields: [Field]
    /// The topology the profile was built with ("" when unknown, e.g. a version 1 file).
    public var topology: String
    /// The model's numeric inputs (one-hot expanded) in the order of ``Field/inputs`` vectors.
    public var inputNames: [String]

    public init(id: String, description: String = "", topology: String = "", inputNames: [String] = [], fields: [Field]) {
        self.id = id; self.description = description; self.fields = fields
        self.topology = topology; self.inputNames = inputNames
    }

    public func field(_ name: String) -> Field? { fields.first { $0.feature == name } }

    /// Errors of saving and loading profile files.
    public enum FileError: Error, Equatable {
        case cannotWrite(path: String, detail: String)
        case cannotRead(path: String, detail: String)
        case corrupt(path: String, error: SerializationError)
    }

    public func save(to path: String) throws(FileError) {
        do { try Data(serialized()).write(to: URL(fileURLWithPath: path)) } catch {
            throw .cannotWrite(path: path, detail: "\(error)")
        }
    }

    public static func load(from path: String) throws(FileError) -> ReferenceProfile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .cannotRead(path: path, detail: "\(error)")
        }
        do { return try ReferenceProfile(serialized: [UInt8](data)) } catch {
            throw .corrupt(path: path, error: error)
        }
    }
}

extension ReferenceProfile: ByteSerializable {
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WRPF", version: 2)
        w.write(id)
        w.write(description)
        w.write(topology)
        w.write(UInt64(inputNames.count))
        for n in inputNames { w.write(n) }
        w.write(UInt64(fields.count))
        for f in fields {
            w.write(f.feature)
            f.info.serialize(into: &w)
            f.reference.serialize(into: &w)
            w.write(UInt64(f.categoryNames.count))
            for n in f.categoryNames { w.write(n) }
            w.write(f.inputs != nil)
            f.inputs?.serialize(into: &w)
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        let version = try r.readHeader(tag: "WRPF", supportedVersions: 1...2)
        id = try r.readString(field: "ReferenceProfile.id")
        description = try r.readString(field: "ReferenceProfile.description")
        topology = ""
        inputNames = []
        if version >= 2 {
            topology = try r.readString(field: "ReferenceProfile.topology")
            let k = try r.readCount(field: "ReferenceProfile.inputNames", limit: 1_000_000)
            for _ in 0..<k { inputNames.append(try r.readString(field: "ReferenceProfile.inputName")) }
        }
        let n = try r.readCount(field: "ReferenceProfile.fields", limit: 1_000_000)
        fields = []
        for _ in 0..<n {
            let name = try r.readString(field: "ReferenceProfile.feature")
            let info = try ReferenceInfo(deserializing: &r)
            let ref = try FieldReference(deserializing: &r)
            var names: [String] = []
            var inputs: InputSample?
            if version >= 2 {
                let c = try r.readCount(field: "ReferenceProfile.categoryNames", limit: 100_000_000)
                for _ in 0..<c { names.append(try r.readString(field: "ReferenceProfile.categoryName")) }
                if try r.readBool() { inputs = try InputSample(deserializing: &r) }
            }
            fields.append(Field(feature: name, reference: ref, info: info, categoryNames: names, inputs: inputs))
        }
        guard r.isAtEnd else { throw .invalidValue(field: "ReferenceProfile", detail: "\(r.remaining) trailing bytes") }
    }
}
