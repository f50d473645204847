#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WeirStats

/// A saved reference: per field, the prepared reference and how it was built. Written by Weir and
/// reloadable, so later runs compare against exactly the same reference.
///
/// File format (version 1, little-endian, see ``ByteWriter``): header "WRPF" + UInt16 version,
/// the profile id (length-prefixed UTF-8), a description, the field count, then per field: name,
/// ``ReferenceInfo`` ("WRIN"), ``FieldReference`` ("WFRF", which embeds NumericReference "WNRF" —
/// the sorted sample or sketch grid, bin count, moments and source — or CategoryCounts "WCAT").
/// Edges and bin counts are recomputed on load bit-identically, so results are identical.
public struct ReferenceProfile: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var feature: String
        public var reference: FieldReference
        public var info: ReferenceInfo
        public init(feature: String, reference: FieldReference, info: ReferenceInfo) {
            self.feature = feature; self.reference = reference; self.info = info
        }
    }

    public var id: String
    public var description: String
    public var fields: [Field]

    public init(id: String, description: String = "", fields: [Field]) {
        self.id = id; self.description = description; self.fields = fields
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
        w.writeHeader(tag: "WRPF", version: 1)
        w.write(id)
        w.write(description)
        w.write(UInt64(fields.count))
        for f in fields {
            w.write(f.feature)
            f.info.serialize(into: &w)
            f.reference.serialize(into: &w)
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WRPF", supportedVersions: 1...1)
        id = try r.readString(field: "ReferenceProfile.id")
        description = try r.readString(field: "ReferenceProfile.description")
        let n = try r.readCount(field: "ReferenceProfile.fields", limit: 1_000_000)
        fields = []
        for _ in 0..<n {
            let name = try r.readString(field: "ReferenceProfile.feature")
            let info = try ReferenceInfo(deserializing: &r)
            let ref = try FieldReference(deserializing: &r)
            fields.append(Field(feature: name, reference: ref, info: info))
        }
    }
}
