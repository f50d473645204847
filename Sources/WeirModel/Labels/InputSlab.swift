/// Preallocated storage for `capacity` copies of a ``ModelInput`` (numeric block and up to
/// `sparseCapacity` sparse entries each), addressed by slot.
///
/// - Complexity: O(numericCount + sparseCount) per store/load; never allocates after init.
public struct InputSlab: Sendable, Equatable {
    public let layout: FeatureLayout
    public let capacity: Int
    @usableFromInline var numeric: ContiguousArray<Double>
    @usableFromInline var indices: ContiguousArray<Int32>
    @usableFromInline var values: ContiguousArray<Double>
    @usableFromInline var sparseCounts: ContiguousArray<Int32>

    public init(layout: FeatureLayout, capacity: Int) {
        self.layout = layout
        self.capacity = max(1, capacity)
        numeric = ContiguousArray(repeating: 0, count: max(1, self.capacity * layout.numericCount))
        indices = ContiguousArray(repeating: 0, count: max(1, self.capacity * layout.sparseCapacity))
        values = ContiguousArray(repeating: 0, count: max(1, self.capacity * layout.sparseCapacity))
        sparseCounts = ContiguousArray(repeating: 0, count: self.capacity)
    }

    /// Copies `input` into `slot`.
    @inlinable public mutating func store(_ input: ModelInput, at slot: Int) {
        let nc = layout.numericCount, sc = layout.sparseCapacity
        let n = numeric.withUnsafeMutableBufferPointer { nb in
            indices.withUnsafeMutableBufferPointer { ib in
                values.withUnsafeMutableBufferPointer { vb in
                    input.store(numeric: nb.baseAddress! + slot * nc, indices: ib.baseAddress! + slot * sc,
                                values: vb.baseAddress! + slot * sc, maxNumeric: nc, maxSparse: sc)
                }
            }
        }
        sparseCounts[slot] = Int32(n)
    }

    /// Copies `slot` into `input`.
    @inlinable public func load(_ slot: Int, into input: inout ModelInput) {
        let nc = layout.numericCount, sc = layout.sparseCapacity
        numeric.withUnsafeBufferPointer { nb in
            indices.withUnsafeBufferPointer { ib in
                values.withUnsafeBufferPointer { vb in
                    input.load(numeric: nb.baseAddress! + slot * nc, indices: ib.baseAddress! + slot * sc,
                               values: vb.baseAddress! + slot * sc, numericCount: nc,
                               sparseCount: Int(sparseCounts[slot]))
                }
            }
        }
    }
}
