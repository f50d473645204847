import WeirCore

/// A topology turned into what the engine runs: the core's stream graph declaration, plus the
/// names the runtime needs to connect model, drift monitors and sinks.
public struct CompiledTopology: Sendable {
    public var spec: TopologySpec
    /// Schema → decode → event time → windows → the model's input vector.
    public var graph: GraphSpec
    /// The model's inputs, in vector order (one-hot features expand to one name per category).
    public var inputNames: [String]
    /// Each windowed feature: the core window operator and column holding it.
    public var windowColumns: [String: (window: String, column: String)]
}

/// Compiles a validated ``TopologySpec`` into a ``CompiledTopology``.
///
/// Windowed features with the same window and key share one window operator (one aggregate
/// column per feature). Every expression compiles: the cheap affine forms (a field `× a + b`, a
/// windowed feature `× a`, `log1p(field) × a`) to the core's ``WeirCore/FeatureSpec`` cases of
/// that shape, any other to a ``WeirCore/FeatureProgram`` (postfix, constants folded) that
/// reads fields, window columns, and other expression features (an earlier model input from the
/// vector, any other inlined).
public enum TopologyCompiler {
    /// - Parameter partitions: source partitions the watermark spans (1 for files).
    /// - Throws: ``TopologyError`` naming every declaration the engine cannot run.
    public static func compile(_ spec: TopologySpec, partitions: Int = 1) throws(TopologyError) -> CompiledTopology {
        var errors: [TopologyDiagnostic] = []
        func fail(_ loc: SourceLocation?, _ msg: String) {
            errors.append(TopologyDiagnostic(location: loc ?? SourceLocation(file: spec.file, line: 1, column: 1), message: msg))
        }

        // Schema.
        let fields: [WeirCore.FieldSpec] = spec.schema.map { f in
            WeirCore.FieldSpec(f.name, coreType(f.type), required: f.required, min: f.min, max: f.max, categories: f.categories)
        }
        let schema: Schema
        do {
            schema = try Schema(fields)
        } catch {
            throw TopologyError(diagnostics: [TopologyDiagnostic(location: SourceLocation(file: spec.file, line: 1, column: 1),
                                                                 message: "schema: \(error)")])
        }

        // Time.
        let time: TimeMode
        if spec.source.processingTime {
            time = .processingTime
        } else {
            time = .eventTime(field: spec.source.eventTimeField ?? "", watermark: WatermarkConfig(
                outOfOrderness: spec.source.outOfOrdernessMs, partitionCount: max(1, partitions),
                idleTimeout: spec.source.idlenessMs, advanceWhenAllIdle: true))
        }

        // Windows: one operator per distinct (window, key).
        var windows: [WeirCore.WindowSpec] = []
        var windowColumns: [String: (window: String, column: String)] = [:]
        for f in spec.features {
            guard case let .windowed(window, by, aggregate, field, parameter) = f.kind else { continue }
            let kind = coreWindow(window)
            let agg = coreAggregate(f.name, aggregate, field: field, parameter: parameter)
            if let i = windows.firstIndex(where: { $0.kind == kind && $0.keyField == by }) {
                windows[i].aggregates.append(agg)
                windows[i].emitResults = windows[i].emitResults || f.emit
                windowColumns[f.name] = (windows[i].name, agg.columnNames[0])
            } else {
                let name = "w\(windows.count)"
                windows.append(WeirCore.WindowSpec(name: name, keyBy: by, kind: kind, allowedLateness: spec.source.allowedLatenessMs,
                                                   aggregates: [agg], emitResults: f.emit, maxKeys: spec.processing.maxKeys))
                windowColumns[f.name] = (name, agg.columnNames[0])
            }
        }

        // The model's input vector.
        var features: [WeirCore.FeatureSpec] = []
        var inputNames: [String] = []
        let declared = Dictionary(spec.features.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for input in spec.model?.inputs ?? [] {
            if let f = declared[input] {
                switch f.kind {
                case .windowed:
                    let wc = windowColumns[input]!
                    features.append(.window(wc.window, column: wc.column, name: input))
                    inputNames.append(input)
                case .oneHot(let field, let categories):
                    let cats = categories ?? spec.schema.first { $0.name == field }?.categories ?? []
                    features.append(.oneHot(field, categories: cats, prefix: "\(input)="))
                    inputNames.append(contentsOf: cats.map { "\(input)=\($0)" })
                case .expression(let e):
                    if let feature = compileExpression(e, name: input, windowColumns: windowColumns, declared: declared) {
                        features.append(feature)
                        inputNames.append(input)
                    } else {
                        var lowering = ExpressionLowering(declared: declared, windowColumns: windowColumns, vector: Set(inputNames),
                                                          fields: Set(spec.schema.map(\.name)))
                        do {
                            let program = try lowering.program(for: input)
                            features.append(.program(program, name: input))
                            inputNames.append(input)
                        } catch {
                            fail(error.feature.flatMap { declared[$0]?.location } ?? f.location, error.message)
                        }
                    }
                }
            } else {
                features.append(.field(input, name: input))
                inputNames.append(input)
            }
        }
        if !errors.isEmpty { throw TopologyError(diagnostics: errors) }
        let graph = GraphSpec(schema: schema, time: time, windows: windows, features: features)
        do {
            _ = try StreamGraph(graph)
        } catch {
            throw TopologyError(diagnostics: [TopologyDiagnostic(location: SourceLocation(file: spec.file, line: 1, column: 1),
                                                                 message: "the engine rejected the graph: \(error)")])
        }
        return CompiledTopology(spec: spec, graph: graph, inputNames: inputNames, windowColumns: windowColumns)
    }

    static func coreType(_ t: FieldDeclaration.FieldType) -> FieldType {
        switch t {
        case .double: return .double
        case .int: return .int
        case .bool: return .bool
        case .string: return .string
        case .category: return .category
        case .timestamp: return .timestamp
        }
    }

    static func coreWindow(_ w: WindowDeclaration) -> WindowKind {
        switch w {
        case let .tumbling(size, offset): return .tumbling(size: size, offset: offset)
        case let .hopping(size, hop): return .hopping(size: size, hop: hop)
        case let .sliding(size): return .sliding(length: size)
        case let .session(gap): return .session(gap: gap)
        case let .count(n): return .count(n)
        }
    }

    static func coreAggregate(_ name: String, _ a: AggregationKind, field: String?, parameter: Double?) -> AggregateSpec {
        switch a {
        case .count: return .count(name, field: field)
        case .sum: return .sum(field!, as: name)
        case .mean: return .mean(field!, as: name)
        case .variance: return .variance(field!, as: name)
        case .stddev: return .std(field!, as: name)
        case .min: return .min(field!, as: name)
        case .max: return .max(field!, as: name)
        case .first: return .first(field!, as: name)
        case .last: return .last(field!, as: name)
        case .ewma: return .ewma(field!, alpha: parameter ?? 0.1, as: name)
        case .distinctCount: return .distinct(field!, as: name)
        case .quantile: return .quantile(field!, parameter ?? 0.5, as: name)
        case .topK: return .topK(field!, k: Int(parameter ?? 10), as: name)
        }
    }

    /// `x × a + b` forms: returns (identifier, a, b) when `e` is affine in one identifier.
    static func affine(_ e: Expression) -> (String, Double, Double)? {
        switch e {
        case .identifier(let s): return (s, 1, 0)
        case .negate(let x): return affine(x).map { ($0.0, -$0.1, -$0.2) }
        case let .binary(op, l, r):
            switch (op, l, r) {
            case (.multiply, _, .number(let c)): return affine(l).map { ($0.0, $0.1 * c, $0.2 * c) }
            case (.multiply, .number(let c), _): return affine(r).map { ($0.0, $0.1 * c, $0.2 * c) }
            case (.divide, _, .number(let c)) where c != 0: return affine(l).map { ($0.0, $0.1 / c, $0.2 / c) }
            case (.add, _, .number(let c)): return affine(l).map { ($0.0, $0.1, $0.2 + c) }
            case (.add, .number(let c), _): return affine(r).map { ($0.0, $0.1, $0.2 + c) }
            case (.subtract, _, .number(let c)): return affine(l).map { ($0.0, $0.1, $0.2 - c) }
            default: return nil
            }
        default: return nil
        }
    }

    /// The engine's dedicated form of `e` when it is affine (`field × a + b`, `windowed × a`,
    /// `log1p(field) × a`), else nil (``ExpressionLowering`` makes it a program).
    static func compileExpression(
        _ e: Expression, name: String, windowColumns: [String: (window: String, column: String)], declared: [String: FeatureDeclaration]
    ) -> WeirCore.FeatureSpec? {
        // log1p(field) × a
        func log1pScale(_ e: Expression) -> (String, Double)? {
            switch e {
            case .call(.log1p, let args): if case .identifier(let f) = args[0] { return (f, 1) }; return nil
            case let .binary(.multiply, l, .number(c)): return log1pScale(l).map { ($0.0, $0.1 * c) }
            case let .binary(.multiply, .number(c), r): return log1pScale(r).map { ($0.0, $0.1 * c) }
            case let .binary(.divide, l, .number(c)) where c != 0: return log1pScale(l).map { ($0.0, $0.1 / c) }
            default: return nil
            }
        }
        if let (f, a) = log1pScale(e), declared[f] == nil { return .log1p(f, scale: a, name: name) }
        guard let (id, a, b) = affine(e) else { return nil }
        if let wc = windowColumns[id] {
            return b == 0 ? .window(wc.window, column: wc.column, scale: a, name: name) : nil
        }
        if declared[id] != nil { return nil }  // another feature: a program reads it
        return .field(id, scale: a, shift: b, name: name)
    }
}
