/// Counts per interned category id (the core interns category strings to `Int32` ids).
///
/// Ids in `0..<denseLimit` (1,048,576) are counted in a dense array that grows to the largest id
/// seen; other ids (negative or huge) go to a dictionary. `add` is O(1) and allocation-free
/// once the dense array has grown to cover the ids in use.
public struct CategoryCounts: Sendable, Equatable {
    /// Ids below this are stored densely.
    public static let denseLimit: Int32 = 1 << 20
    @usableFromInline var dense: [Int]
    @usableFromInline var sparse: [Int32: Int]
    @usableFromInline var total_: Int

    public init() {
        dense = []
        sparse = [:]
        total_ = 0
    }

    /// Builds counts from ids.
    public init(ids: some Sequence<Int32>) {
        self.init()
        for id in ids { add(id) }
    }

    /// Total count over all categories.
    public var total: Int { total_ }

    /// Adds `count` (> 0) occurrences of `id`; non-positive counts are ignored.
    @inlinable
    public mutating func add(_ id: Int32, count: Int = 1) {
        guard count > 0 else { return }
        total_ += count
        if id >= 0 && id < Self.denseLimit {
            let i = Int(id)
            if i >= dense.count { grow(to: i) }
            dense.withUnsafeMutableBufferPointer { $0[i] += count }
        } else {
            sparse[id, default: 0] += count
        }
    }

    @usableFromInline
    mutating func grow(to i: Int) {
        let newCount = Swift.max(i + 1, Swift.min(Int(Self.denseLimit), Swift.max(16, dense.count * 2)))
        dense.append(contentsOf: repeatElement(0, count: newCount - dense.count))
    }

    /// The count of `id` (0 if never seen).
    public func count(of id: Int32) -> Int {
        if id >= 0 && Int(id) < dense.count { return dense[Int(id)] }
        return sparse[id] ?? 0
    }

    /// Categories with a positive count, ascending by id.
    public var categories: [Int32] {
        var out = [Int32]()
        for (i, c) in dense.enumerated() where c > 0 { out.append(Int32(i)) }
        out.append(contentsOf: sparse.filter { $0.value > 0 }.keys)
        out.sort()
        return out
    }

    /// Number of categories with a positive count.
    public var categoryCount: Int {
        var n = 0
        for c in dense where c > 0 { n += 1 }
        return n + sparse.values.filter { $0 > 0 }.count
    }

    /// Adds all of `other`'s counts.
    public mutating func merge(_ other: CategoryCounts) {
        for (i, c) in other.dense.enumerated() where c > 0 { add(Int32(i), count: c) }
        for (id, c) in other.sparse { add(id, count: c) }
    }

    /// Clears all counts, keeping storage.
    public mutating func reset() {
        for i in dense.indices { dense[i] = 0 }
        sparse.removeAll(keepingCapacity: true)
        total_ = 0
    }

    public static func == (a: CategoryCounts, b: CategoryCounts) -> Bool {
        guard a.total == b.total else { return false }
        let ca = a.categories
        return ca == b.categories && ca.allSatisfy { a.count(of: $0) == b.count(of: $0) }
    }
}

extension CategoryCounts: ByteSerializable {
    public func serialize(into writer: inout ByteWriter) {
        writer.writeHeader(tag: "WCAT", version: 1)
        let cats = categories
        writer.write(UInt64(cats.count))
        for id in cats {
            writer.write(id)
            writer.write(count(of: id))
        }
    }

    public init(deserializing reader: inout ByteReader) throws(SerializationError) {
        try reader.readHeader(tag: "WCAT", supportedVersions: 1...1)
        self.init()
        let n = try reader.readCount(field: "CategoryCounts.count")
        for _ in 0..<n {
            let id = try reader.readInt32()
            let c = try reader.readInt()
            guard c > 0, !total_.addingReportingOverflow(c).overflow, count(of: id) == 0 else {
                throw .invalidValue(field: "CategoryCounts.count", detail: "\(c) for id \(id)")
            }
            add(id, count: c)
        }
    }
}
