#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds one feature vector per accepted record from the record's fields and the current
/// values of window operators, as compiled from ``FeatureSpec``s (programs resolved to
/// indexed steps once, here).
/// - Complexity: O(dimension + program instructions) per record, allocation-free.
public struct FeatureAssembler: Sendable {
    struct Op: Sendable {
        enum Kind: UInt8 { case field, log1p, window, oneHot, program }
        var kind: Kind
        var field: Int
        var type: FieldType
        var scale: Double
        var shift: Double
        var out: Int
        var window: Int
        var column: Int
        /// oneHot: this op's id → column table is `maps[mapStart..<mapStart + mapCount]`;
        /// program: its steps are `steps[mapStart..<mapStart + mapCount]`, its stack depth `window`.
        var mapStart: Int
        var mapCount: Int
    }
    var ops: ContiguousArray<Op>
    /// oneHot tables: category id → output column (−1 none), concatenated.
    var maps: ContiguousArray<Int32>
    /// Programs' resolved steps, concatenated.
    var steps: ContiguousArray<ProgramStep>
    /// Feature names, in vector order.
    public let names: [String]

    /// Compiles `specs`; requests ``WindowOperator/current`` columns from `windows`.
    /// - Throws: ``SchemaError`` for unknown fields, windows or columns, or unsupported types.
    init(specs: [FeatureSpec], schema: Schema, decoder: inout RecordDecoder, windows: inout [WindowOperator]) throws(SchemaError) {
        var ops = ContiguousArray<Op>()
        var maps = ContiguousArray<Int32>()
        var steps = ContiguousArray<ProgramStep>()
        var names: [String] = []
        let numeric: Set<FieldType> = [.double, .int, .bool, .timestamp]
        for s in specs {
            switch s {
            case .field(let f, let scale, let shift, let name):
                let i = try schema.requireField(f, types: numeric)
                ops.append(Op(kind: .field, field: i, type: schema.fields[i].type, scale: scale, shift: shift, out: names.count, window: -1, column: -1, mapStart: 0, mapCount: 0))
                names.append(name ?? f)
            case .log1p(let f, let scale, let name):
                let i = try schema.requireField(f, types: numeric)
                ops.append(Op(kind: .log1p, field: i, type: schema.fields[i].type, scale: scale, shift: 0, out: names.count, window: -1, column: -1, mapStart: 0, mapCount: 0))
                names.append(name ?? "log1p_\(f)")
            case .window(let w, let col, let scale, let name):
                guard let wi = windows.firstIndex(where: { $0.spec.name == w }) else { throw .unknownWindow(name: w) }
                guard let ci = windows[wi].columnNames.firstIndex(of: col) else { throw .unknownAggregate(window: w, name: col) }
                windows[wi].requireCurrent(column: ci)
                ops.append(Op(kind: .window, field: -1, type: .double, scale: scale, shift: 0, out: names.count, window: wi, column: ci, mapStart: 0, mapCount: 0))
                names.append(name ?? "\(w)_\(col)")
            case .oneHot(let f, let cats, let prefix):
                let i = try schema.requireField(f, types: [.category])
                guard let values = cats ?? schema.fields[i].categories else {
                    throw .invalidFeature(detail: "oneHot(\(f)) needs categories for an open category field")
                }
                var map = ContiguousArray<Int32>()
                let out = names.count
                for (j, c) in values.enumerated() {
                    var id = decoder.categoryID(field: i, value: c)
                    if id == nil {
                        guard schema.fields[i].categories == nil else { throw .invalidFeature(detail: "oneHot(\(f)): '\(c)' not an allowed category") }
                        id = decoder.categories[i].intern(Array(c.utf8))
                    }
                    while map.count <= Int(id!) { map.append(-1) }
                    map[Int(id!)] = Int32(out + j)
                    names.append((prefix ?? "\(f)_") + c)
                }
                ops.append(Op(kind: .oneHot, field: i, type: .category, scale: 1, shift: 0, out: out, window: -1, column: -1,
                              mapStart: maps.count, mapCount: map.count))
                maps.append(contentsOf: map)
            case let .program(program, name):
                let start = steps.count
                for ins in program.instructions {
                    steps.append(try ProgramStep.resolve(ins, schema: schema, windows: &windows, names: names))
                }
                ops.append(Op(kind: .program, field: -1, type: .double, scale: 1, shift: 0, out: names.count, window: program.stackDepth,
                              column: -1, mapStart: start, mapCount: steps.count - start))
                names.append(name)
            }
        }
        guard Set(names).count == names.count else { throw .invalidFeature(detail: "duplicate feature names") }
        self.ops = ops
        self.maps = maps
        self.steps = steps
        self.names = names
    }

    /// Appends the feature vector of `row` to `out`.
    @inline(__always)
    func assemble(_ batch: RecordBatch, row: Int, windows: [WindowOperator], into out: inout FeatureBatch) {
        let base = out.appendZeroed(row: row)
        let dimension = out.dimension
        out.storage.withUnsafeMutableBufferPointer { v in
          ops.withUnsafeBufferPointer { opsBuf in
            for op in opsBuf {
                switch op.kind {
                case .field:
                    guard batch.isPresent(row, op.field) else { continue }
                    let x = batch.numeric(row, op.field, type: op.type) * op.scale + op.shift
                    v[base + op.out] = x.isFinite ? x : 0
                case .log1p:
                    guard batch.isPresent(row, op.field) else { continue }
                    let x = log1p(batch.numeric(row, op.field, type: op.type)) * op.scale
                    v[base + op.out] = x.isFinite ? x : 0
                case .window:
                    let x = windows[op.window].current[op.column] * op.scale
                    v[base + op.out] = x.isFinite ? x : 0
                case .oneHot:
                    guard batch.isPresent(row, op.field) else { continue }
                    let id = Int(batch.category(row, op.field))
                    if id >= 0 && id < op.mapCount {
                        let c = maps[op.mapStart + id]
                        if c >= 0 { v[base + Int(c)] = 1 }
                    }
                case .program:
                    let x = steps.withUnsafeBufferPointer { all in
                        ProgramStep.run(UnsafeBufferPointer(rebasing: all[op.mapStart..<op.mapStart + op.mapCount]), depth: op.window,
                                        batch: batch, row: row, windows: windows,
                                        vector: UnsafeMutableBufferPointer(rebasing: v[base..<base + dimension]))
                    }
                    v[base + op.out] = x
                }
            }
          }
        }
    }
}
