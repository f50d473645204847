import Foundation
import Yams

/// Loads topology files: YAML → ``TopologySpec``, then cross-reference validation.
public enum TopologyLoader {
    /// Reads and validates a topology file.
    /// - Throws: ``TopologyError`` with every problem found (file:line:column each).
    public static func load(path: String) throws(TopologyError) -> TopologySpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyError(diagnostics: [TopologyDiagnostic(
                location: SourceLocation(file: path, line: 1, column: 1), message: "cannot read file: \(error.localizedDescription)")])
        }
        return try parse(text, file: path)
    }

    /// Parses and validates topology text; `file` names it in messages.
    public static func parse(_ text: String, file: String = "<topology>") throws(TopologyError) -> TopologySpec {
        let diags = DiagnosticCollector(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw TopologyError(diagnostics: [yamlDiagnostic(e, file: file)])
        } catch {
            throw TopologyError(diagnostics: [TopologyDiagnostic(location: SourceLocation(file: file, line: 1, column: 1), message: "\(error)")])
        }
        guard let root else {
            throw TopologyError(diagnostics: [TopologyDiagnostic(location: SourceLocation(file: file, line: 1, column: 1), message: "the file is empty")])
        }
        let parser = TopologyParser(diags: diags, reader: NodeReader(diags: diags))
        let spec = parser.parseTopology(root)
        if let spec { TopologyValidator(diags: diags).validate(spec) }
        if !diags.items.isEmpty || spec == nil { throw TopologyError(diagnostics: diags.sorted) }
        return spec!
    }

    static func yamlDiagnostic(_ e: YamlError, file: String) -> TopologyDiagnostic {
        func at(_ mark: Mark, _ problem: String) -> TopologyDiagnostic {
            TopologyDiagnostic(location: SourceLocation(file: file, line: mark.line, column: mark.column), message: "invalid YAML: \(problem)")
        }
        switch e {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return at(mark, problem)
        default:
            return TopologyDiagnostic(location: SourceLocation(file: file, line: 1, column: 1), message: "invalid YAML: \(e)")
        }
    }
}

/// Section-by-section reader. Fills defaults; reports shape and value errors.
struct TopologyParser {
    let diags: DiagnosticCollector
    let reader: NodeReader

    static let topKeys = ["name", "description", "source", "schema", "features", "model", "drift", "sinks", "processing", "state"]

    func parseTopology(_ root: Node) -> TopologySpec? {
        guard let entries = reader.mapping(root, "the topology", allowed: Self.topKeys) else { return nil }
        var name: String?
        var description: String?
        var source: SourceSpec?
        var schema: [FieldDeclaration] = []
        var features: [FeatureDeclaration] = []
        var model: ModelSpec?
        var drift: DriftDeclaration?
        var sinksNode: Node?
        var processing = ProcessingSpec(guarantee: .atLeastOnce, checkpointIntervalMs: 1000, maxKeys: 1_000_000)
        var state = StateSpec()
        for (key, _, value) in entries {
            switch key {
            case "name": name = reader.identifier(value, "name")
            case "description": description = reader.string(value, "description")
            case "source": source = parseSource(value)
            case "schema": schema = parseSchema(value)
            case "features": features = parseFeatures(value)
            case "model": model = parseModel(value)
            case "drift": drift = parseDrift(value)
            case "sinks": sinksNode = value
            case "processing": processing = parseProcessing(value) ?? processing
            case "state": state = parseState(value) ?? state
            default: break
            }
        }
        if name == nil && !entries.contains(where: { $0.key == "name" }) { diags.error(root, "missing required key 'name' (the topology's name)") }
        if source == nil && !entries.contains(where: { $0.key == "source" }) { diags.error(root, "missing required key 'source' (topics to read)") }
        if schema.isEmpty && !entries.contains(where: { $0.key == "schema" }) { diags.error(root, "missing required key 'schema' (the event fields)") }
        guard let name, let source else { return nil }
        let sinks = parseSinks(sinksNode, defaults: SinksSpec.defaults(for: name))
        return TopologySpec(name: name, description: description, source: source, schema: schema, features: features,
                            model: model, drift: drift, sinks: sinks, processing: processing, state: state, file: diags.file)
    }

    // MARK: source

    func parseSource(_ node: Node) -> SourceSpec? {
        let allowed = ["topics", "topic", "format", "key", "event_time", "out_of_orderness", "idleness", "allowed_lateness", "processing_time", "order"]
        guard let entries = reader.mapping(node, "source", allowed: allowed) else { return nil }
        var spec = SourceSpec(topics: [], format: "json", keyField: nil, eventTimeField: nil, eventTimeFormat: .epochMillis,
                              outOfOrdernessMs: 0, idlenessMs: 30_000, allowedLatenessMs: 0, processingTime: false,
                              location: diags.location(node))
        for (key, _, value) in entries {
            switch key {
            case "topics":
                spec.topics = reader.stringList(value, "source.topics") ?? []
                spec.topicsLocation = diags.location(value)
            case "topic":
                if let t = reader.string(value, "source.topic") { spec.topics = [t] }
                spec.topicsLocation = diags.location(value)
            case "format":
                if let f = reader.string(value, "source.format") {
                    if f != "json" { diags.error(value, "source.format '\(f)' is not supported (allowed: json)") }
                    spec.format = f
                }
            case "key":
                spec.keyField = reader.string(value, "source.key")
                spec.keyLocation = diags.location(value)
            case "event_time":
                if case .scalar = value {
                    spec.eventTimeField = reader.string(value, "source.event_time")
                    spec.eventTimeLocation = diags.location(value)
                } else if let e = reader.mapping(value, "source.event_time", allowed: ["field", "format"]) {
                    for (k, _, v) in e {
                        if k == "field" {
                            spec.eventTimeField = reader.string(v, "source.event_time.field")
                            spec.eventTimeLocation = diags.location(v)
                        }
                        if k == "format", let f = reader.oneOf(v, "source.event_time.format", EventTimeFormat.self) { spec.eventTimeFormat = f }
                    }
                }
            case "out_of_orderness": spec.outOfOrdernessMs = reader.duration(value, "source.out_of_orderness") ?? 0
            case "idleness": spec.idlenessMs = reader.duration(value, "source.idleness") ?? spec.idlenessMs
            case "allowed_lateness": spec.allowedLatenessMs = reader.duration(value, "source.allowed_lateness") ?? 0
            case "processing_time": spec.processingTime = reader.bool(value, "source.processing_time") ?? false
            case "order": spec.order = reader.oneOf(value, "source.order", SourceOrder.self) ?? spec.order
            default: break
            }
        }
        if spec.topics.isEmpty && !entries.contains(where: { $0.key == "topics" || $0.key == "topic" }) {
            diags.error(node, "source needs 'topics' (a list of topic names)")
        }
        return spec
    }

    // MARK: schema

    func parseSchema(_ node: Node) -> [FieldDeclaration] {
        guard let entries = reader.mapping(node, "schema", allowed: []) else { return [] }
        var fields: [FieldDeclaration] = []
        for (name, keyNode, value) in entries {
            var field = FieldDeclaration(name: name, type: .double, required: true, min: nil, max: nil, categories: nil,
                                  location: diags.location(keyNode))
            if case .scalar = value {
                // Short form: `amount: double`
                guard let t = reader.oneOf(value, "the type of field '\(name)'", FieldDeclaration.FieldType.self) else { continue }
                field.type = t
                fields.append(field)
                continue
            }
            guard let e = reader.mapping(value, "field '\(name)'", allowed: ["type", "required", "min", "max", "categories"]) else { continue }
            var hasType = false
            for (k, _, v) in e {
                switch k {
                case "type":
                    hasType = true
                    if let t = reader.oneOf(v, "the type of field '\(name)'", FieldDeclaration.FieldType.self) { field.type = t }
                case "required": field.required = reader.bool(v, "field '\(name)'.required") ?? true
                case "min": field.min = reader.double(v, "field '\(name)'.min")
                case "max": field.max = reader.double(v, "field '\(name)'.max")
                case "categories": field.categories = reader.stringList(v, "field '\(name)'.categories")
                default: break
                }
            }
            if !hasType {
                diags.error(keyNode, "field '\(name)' needs a type (allowed: \(FieldDeclaration.FieldType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            fields.append(field)
        }
        return fields
    }

    // MARK: features

    func parseWindow(_ node: Node, _ what: String) -> WindowDeclaration? {
        let allowed = ["tumbling", "hopping", "hop", "sliding", "session", "count", "offset"]
        guard let e = reader.mapping(node, what, allowed: allowed) else { return nil }
        var dict: [String: Node] = [:]
        for (k, _, v) in e { dict[k] = v }
        let kinds = ["tumbling", "hopping", "sliding", "session", "count"].filter { dict[$0] != nil }
        guard kinds.count == 1 else {
            diags.error(node, "\(what) needs exactly one of tumbling, hopping, sliding, session, count (got \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")))")
            return nil
        }
        switch kinds[0] {
        case "tumbling":
            guard let size = reader.duration(dict["tumbling"]!, "\(what).tumbling") else { return nil }
            let offset = dict["offset"].flatMap { reader.duration($0, "\(what).offset") } ?? 0
            return .tumbling(sizeMs: size, offsetMs: offset)
        case "hopping":
            guard let size = reader.duration(dict["hopping"]!, "\(what).hopping") else { return nil }
            guard let hopNode = dict["hop"] else {
                diags.error(node, "\(what): a hopping window needs 'hop' (how far each window starts after the previous one)")
                return nil
            }
            guard let hop = reader.duration(hopNode, "\(what).hop") else { return nil }
            return .hopping(sizeMs: size, hopMs: hop)
        case "sliding":
            return reader.duration(dict["sliding"]!, "\(what).sliding").map { .sliding(sizeMs: $0) }
        case "session":
            return reader.duration(dict["session"]!, "\(what).session").map { .session(gapMs: $0) }
        default:
            return reader.int(dict["count"]!, "\(what).count", min: 1).map { .count(events: $0) }
        }
    }

    func parseFeatures(_ node: Node) -> [FeatureDeclaration] {
        guard let entries = reader.mapping(node, "features", allowed: []) else { return [] }
        var out: [FeatureDeclaration] = []
        for (name, keyNode, value) in entries {
            let loc = diags.location(keyNode)
            if case .scalar = value {
                // Short form: `log_amount: "log1p(amount) / 5"`
                if let text = reader.string(value, "feature '\(name)'"), let e = parseExpression(text, node: value, what: "feature '\(name)'") {
                    out.append(FeatureDeclaration(name: name, kind: .expression(e), location: loc))
                }
                continue
            }
            let allowed = ["window", "by", "aggregate", "field", "expr", "one_hot", "categories", "quantile", "k", "alpha", "emit"]
            guard let e = reader.mapping(value, "feature '\(name)'", allowed: allowed) else { continue }
            var dict: [String: Node] = [:]
            for (k, _, v) in e { dict[k] = v }
            if let exprNode = dict["expr"] {
                if let text = reader.string(exprNode, "feature '\(name)'.expr"),
                   let ex = parseExpression(text, node: exprNode, what: "feature '\(name)'.expr") {
                    out.append(FeatureDeclaration(name: name, kind: .expression(ex), location: loc))
                }
                continue
            }
            if let oh = dict["one_hot"] {
                let cats = dict["categories"].flatMap { reader.stringList($0, "feature '\(name)'.categories") }
                if let f = reader.string(oh, "feature '\(name)'.one_hot") {
                    out.append(FeatureDeclaration(name: name, kind: .oneHot(field: f, categories: cats), location: loc))
                }
                continue
            }
            guard let windowNode = dict["window"] else {
                diags.error(keyNode, "feature '\(name)' needs one of 'window' (with 'aggregate'), 'expr' or 'one_hot'")
                continue
            }
            guard let window = parseWindow(windowNode, "feature '\(name)'.window") else { continue }
            guard let aggNode = dict["aggregate"] else {
                diags.error(keyNode, "feature '\(name)' needs 'aggregate' (allowed: \(AggregationKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            guard let agg = reader.oneOf(aggNode, "feature '\(name)'.aggregate", AggregationKind.self) else { continue }
            let by = dict["by"].flatMap { reader.string($0, "feature '\(name)'.by") }
            let field = dict["field"].flatMap { reader.string($0, "feature '\(name)'.field") }
            var parameter: Double?
            if let q = dict["quantile"] { parameter = reader.double(q, "feature '\(name)'.quantile") }
            if let k = dict["k"] { parameter = reader.int(k, "feature '\(name)'.k", min: 1).map(Double.init) }
            if let a = dict["alpha"] { parameter = reader.double(a, "feature '\(name)'.alpha") }
            let emit = dict["emit"].flatMap { reader.bool($0, "feature '\(name)'.emit") } ?? false
            out.append(FeatureDeclaration(name: name, kind: .windowed(window: window, by: by == "global" ? nil : by, aggregate: agg, field: field,
                                                                      parameter: parameter), emit: emit, location: loc))
        }
        return out
    }

    func parseExpression(_ text: String, node: Node, what: String) -> Expression? {
        do {
            return try ExpressionParser.parse(text)
        } catch {
            // Point at the character inside the scalar (quoted scalars start one column later).
            var loc = diags.location(node)
            if case .scalar(let s) = node, s.style == .doubleQuoted || s.style == .singleQuoted { loc.column += 1 }
            loc.column += error.offset
            diags.error(at: loc, "\(what): \(error.message) in expression '\(text)'")
            return nil
        }
    }

    // MARK: model

    func parseModel(_ node: Node) -> ModelSpec? {
        let allowed = ["type", "label", "label_topic", "inputs", "optimizer", "learning_rate", "intercept_learning_rate", "l1", "l2", "standardize",
                       "positive_at_half", "emit_features", "carry", "retraining"]
        guard let e = reader.mapping(node, "model", allowed: allowed) else { return nil }
        var spec = ModelSpec(type: .logistic, labels: .field("label"), inputs: [], inputLocations: [], optimizer: .sgd, learningRate: 0.01,
                             interceptLearningRate: nil, l1: 0, l2: 0, standardize: false, retraining: nil, location: diags.location(node))
        for (k, _, v) in e {
            switch k {
            case "type": spec.type = reader.oneOf(v, "model.type", ModelSpec.ModelType.self) ?? spec.type
            case "label": if let s = reader.string(v, "model.label") { spec.labels = .field(s) }
            case "label_topic":
                guard let lt = reader.mapping(v, "model.label_topic", allowed: ["topic", "id_field", "label_field", "max_wait"]) else { break }
                var topic = "", idField = "event_id", labelField = "label", wait: Int64 = 600_000
                for (lk, _, lv) in lt {
                    switch lk {
                    case "topic": topic = reader.string(lv, "model.label_topic.topic") ?? ""
                    case "id_field": idField = reader.string(lv, "model.label_topic.id_field") ?? idField
                    case "label_field": labelField = reader.string(lv, "model.label_topic.label_field") ?? labelField
                    default: wait = reader.duration(lv, "model.label_topic.max_wait") ?? wait
                    }
                }
                if topic.isEmpty { diags.error(v, "model.label_topic needs 'topic'") }
                spec.labels = .topic(topic: topic, idField: idField, labelField: labelField, maxWaitMs: wait)
            case "inputs":
                for item in reader.list(v, "model.inputs") ?? [] {
                    if let name = reader.string(item, "a model input") {
                        spec.inputs.append(name)
                        spec.inputLocations.append(diags.location(item))
                    }
                }
            case "optimizer":
                if case .scalar = v {
                    spec.optimizer = reader.oneOf(v, "model.optimizer", ModelSpec.Optimizer.self) ?? spec.optimizer
                } else if let o = reader.mapping(v, "model.optimizer", allowed: ["type", "learning_rate"]) {
                    for (ok, _, ov) in o {
                        if ok == "type" { spec.optimizer = reader.oneOf(ov, "model.optimizer.type", ModelSpec.Optimizer.self) ?? spec.optimizer }
                        if ok == "learning_rate" { spec.learningRate = reader.double(ov, "model.optimizer.learning_rate") ?? spec.learningRate }
                    }
                }
            case "learning_rate": spec.learningRate = reader.double(v, "model.learning_rate") ?? spec.learningRate
            case "intercept_learning_rate": spec.interceptLearningRate = reader.double(v, "model.intercept_learning_rate")
            case "l1": spec.l1 = reader.double(v, "model.l1") ?? 0
            case "l2": spec.l2 = reader.double(v, "model.l2") ?? 0
            case "standardize": spec.standardize = reader.bool(v, "model.standardize") ?? false
            case "positive_at_half": spec.positiveAtHalf = reader.bool(v, "model.positive_at_half") ?? false
            case "emit_features": spec.emitFeatures = reader.bool(v, "model.emit_features") ?? false
            case "carry":
                for item in reader.list(v, "model.carry") ?? [] {
                    if let name = reader.string(item, "a carried field (model.carry)") {
                        spec.carry.append(name)
                        spec.carryLocations.append(diags.location(item))
                    }
                }
            case "retraining":
                guard let r = reader.mapping(v, "model.retraining", allowed: ["buffer_events", "shadow_events", "margin"]) else { break }
                var rs = RetrainingSpec(bufferEvents: 20_000, shadowEvents: 5_000, margin: 0.01)
                for (rk, _, rv) in r {
                    switch rk {
                    case "buffer_events": rs.bufferEvents = reader.int(rv, "model.retraining.buffer_events", min: 1) ?? rs.bufferEvents
                    case "shadow_events": rs.shadowEvents = reader.int(rv, "model.retraining.shadow_events", min: 1) ?? rs.shadowEvents
                    default: rs.margin = reader.double(rv, "model.retraining.margin") ?? rs.margin
                    }
                }
                spec.retraining = rs
            default: break
            }
        }
        if spec.inputs.isEmpty && !e.contains(where: { $0.key == "inputs" }) { diags.error(node, "model needs 'inputs' (the features it reads)") }
        return spec
    }

    // MARK: drift

    func parseDrift(_ node: Node) -> DriftDeclaration? {
        let allowed = ["mode", "reference", "window", "bins", "sample_cap", "score_warmup_labels", "max_categories",
                       "max_category_length", "monitors", "gate"]
        guard let e = reader.mapping(node, "drift", allowed: allowed) else { return nil }
        var spec = DriftDeclaration(reference: .firstEvents(10_000), window: .count(events: 10_000), bins: 10, sampleCap: 100_000, monitors: [],
                             gate: GateSpec(rule: .any, psi: 0.2, ksPValue: 0.01, ksMinStatistic: 0.1, chi2PValue: 0.01,
                                            wassersteinNormalized: nil, jsDistance: nil, minWindowSize: 100, consecutive: 2,
                                            resolveBelowPSI: 0.1, resolveAfterWindows: 2, cooldownWindows: 10, retrain: true,
                                            location: diags.location(node)),
                             location: diags.location(node))
        for (k, _, v) in e {
            switch k {
            case "reference":
                guard let r = reader.mapping(v, "drift.reference", allowed: ["first_events", "previous_window", "profile"]) else { break }
                for (rk, _, rv) in r {
                    switch rk {
                    case "first_events": if let n = reader.int(rv, "drift.reference.first_events", min: 1) { spec.reference = .firstEvents(n) }
                    case "previous_window": if reader.bool(rv, "drift.reference.previous_window") == true { spec.reference = .previousWindow }
                    default: if let p = reader.string(rv, "drift.reference.profile") { spec.reference = .profile(path: p) }
                    }
                }
            case "window":
                if let w = parseWindow(v, "drift.window") {
                    switch w {
                    case .count, .tumbling: spec.window = w
                    default: diags.error(v, "drift.window must be a count or tumbling window")
                    }
                }
            case "mode": spec.mode = reader.oneOf(v, "drift.mode", DriftDeclaration.Mode.self) ?? spec.mode
            case "bins": spec.bins = reader.int(v, "drift.bins", min: 2) ?? spec.bins
            case "sample_cap": spec.sampleCap = reader.int(v, "drift.sample_cap", min: 10) ?? spec.sampleCap
            case "score_warmup_labels":
                spec.scoreWarmupLabels = reader.int(v, "drift.score_warmup_labels", min: 0) ?? spec.scoreWarmupLabels
            case "max_categories": spec.maxCategories = reader.int(v, "drift.max_categories", min: 1) ?? spec.maxCategories
            case "max_category_length":
                spec.maxCategoryLength = reader.int(v, "drift.max_category_length", min: 1) ?? spec.maxCategoryLength
            case "monitors": spec.monitors = parseMonitors(v)
            case "gate": spec.gate = parseGate(v, defaults: spec.gate)
            default: break
            }
        }
        if let at = spec.gate.calibrateLocation {
            if case .count = spec.window {} else {
                diags.error(at: at, "drift.gate.calibrate needs count windows (drift.window: {count: N}): the null distribution is drawn for one window size")
            }
            if spec.reference == .previousWindow {
                diags.error(at: at, "drift.gate.calibrate needs a fixed reference (first_events or profile), not previous_window")
            }
            if spec.mode == .contract { diags.error(at: at, "drift.gate.calibrate does not apply to drift.mode contract (its rule is fixed)") }
        }
        return spec
    }

    func parseMonitors(_ node: Node) -> [DriftDeclaration.Monitor] {
        if case .sequence = node {
            return (reader.list(node, "drift.monitors") ?? []).compactMap { item in
                reader.string(item, "drift monitor").map { DriftDeclaration.Monitor(field: $0, categorical: false, location: diags.location(item)) }
            }
        }
        guard let e = reader.mapping(node, "drift.monitors", allowed: []) else { return [] }
        return e.map { name, keyNode, value in
            var categorical = false
            if case .mapping = value, let m = reader.mapping(value, "drift monitor '\(name)'", allowed: ["categorical"]) {
                for (_, _, v) in m { categorical = reader.bool(v, "drift monitor '\(name)'.categorical") ?? false }
            }
            return DriftDeclaration.Monitor(field: name, categorical: categorical, location: diags.location(keyNode))
        }
    }

    func parseGate(_ node: Node, defaults: GateSpec) -> GateSpec {
        let allowed = ["rule", "psi", "ks_pvalue", "ks_min_statistic", "chi2_pvalue", "wasserstein_normalized", "js_distance",
                       "min_window_size", "consecutive", "resolve_below_psi", "resolve_after_windows", "cooldown_windows", "retrain",
                       "calibrate"]
        var g = defaults
        g.location = diags.location(node)
        guard let e = reader.mapping(node, "drift.gate", allowed: allowed) else { return g }
        for (k, _, v) in e {
            let what = "drift.gate.\(k)"
            let isNull = reader.isNull(v)
            switch k {
            case "rule": g.rule = reader.oneOf(v, what, GateSpec.Rule.self) ?? g.rule
            case "psi": g.psi = isNull ? nil : reader.double(v, what)
            case "ks_pvalue": g.ksPValue = isNull ? nil : reader.double(v, what)
            case "ks_min_statistic": g.ksMinStatistic = isNull ? nil : reader.double(v, what)
            case "chi2_pvalue": g.chi2PValue = isNull ? nil : reader.double(v, what)
            case "wasserstein_normalized": g.wassersteinNormalized = isNull ? nil : reader.double(v, what)
            case "js_distance": g.jsDistance = isNull ? nil : reader.double(v, what)
            case "min_window_size": g.minWindowSize = reader.int(v, what, min: 1) ?? g.minWindowSize
            case "consecutive": g.consecutive = reader.int(v, what, min: 1) ?? g.consecutive
            case "resolve_below_psi": g.resolveBelowPSI = isNull ? nil : reader.double(v, what)
            case "resolve_after_windows": g.resolveAfterWindows = reader.int(v, what, min: 1) ?? g.resolveAfterWindows
            case "cooldown_windows": g.cooldownWindows = reader.int(v, what, min: 0) ?? g.cooldownWindows
            case "calibrate":
                g.calibrateLocation = diags.location(v)
                guard let c = reader.mapping(v, what, allowed: ["false_alarm_rate"]) else { break }
                if c.isEmpty { diags.error(v, "drift.gate.calibrate needs false_alarm_rate, e.g. {false_alarm_rate: 0.001}") }
                for (_, _, rv) in c {
                    guard let r = reader.double(rv, "drift.gate.calibrate.false_alarm_rate") else { continue }
                    if r > 0 && r < 1 { g.calibrateFalseAlarmRate = r } else {
                        diags.error(rv, "drift.gate.calibrate.false_alarm_rate must be between 0 and 1 (exclusive), got \(r)")
                    }
                }
            default: g.retrain = reader.bool(v, what) ?? g.retrain
            }
        }
        return g
    }

    // MARK: sinks, processing

    func parseSinks(_ node: Node?, defaults: SinksSpec) -> SinksSpec {
        var s = defaults
        guard let node else { return s }
        let allowed = ["scores", "features", "drift", "alerts", "retrain", "models", "late", "dlq", "windows"]
        guard let e = reader.mapping(node, "sinks", allowed: allowed) else { return s }
        for (k, _, v) in e {
            if reader.isNull(v) {
                if k == "dlq" {
                    diags.error(v, "sinks.dlq cannot be disabled: bad records must go somewhere (give a topic name)")
                } else if let kind = SinkKind(rawValue: k) {
                    s.disabled.insert(kind)
                }
                continue
            }
            guard let t = reader.string(v, "sinks.\(k)") else { continue }
            switch k {
            case "scores": s.scores = t
            case "features": s.features = t
            case "drift": s.drift = t
            case "alerts": s.alerts = t
            case "retrain": s.retrain = t
            case "models": s.models = t
            case "late": s.late = t
            case "dlq": s.deadLetters = t
            default: s.windows = t
            }
        }
        return s
    }

    func parseState(_ node: Node) -> StateSpec? {
        guard let e = reader.mapping(node, "state", allowed: ["memory_limit"]) else { return nil }
        var st = StateSpec()
        for (_, _, v) in e {
            if reader.isNull(v) { continue }
            st.memoryLimitBytes = reader.byteSize(v, "state.memory_limit") ?? st.memoryLimitBytes
        }
        return st
    }

    func parseProcessing(_ node: Node) -> ProcessingSpec? {
        guard let e = reader.mapping(node, "processing", allowed: ["guarantee", "checkpoint_interval", "checkpoint_full_every", "max_keys",
                                                                  "output_headers"]) else { return nil }
        var p = ProcessingSpec(guarantee: .atLeastOnce, checkpointIntervalMs: 1000, maxKeys: 1_000_000)
        var headersNode: Node?
        for (k, _, v) in e {
            switch k {
            case "output_headers":
                headersNode = v
                p.outputHeaders = reader.oneOf(v, "processing.output_headers", ProcessingSpec.OutputHeaders.self) ?? p.outputHeaders
            case "guarantee": p.guarantee = reader.oneOf(v, "processing.guarantee", ProcessingSpec.Guarantee.self) ?? p.guarantee
            case "checkpoint_interval": p.checkpointIntervalMs = reader.duration(v, "processing.checkpoint_interval") ?? p.checkpointIntervalMs
            case "checkpoint_full_every": p.checkpointFullEvery = reader.int(v, "processing.checkpoint_full_every", min: 1) ?? p.checkpointFullEvery
            default: p.maxKeys = reader.int(v, "processing.max_keys", min: 1) ?? p.maxKeys
            }
        }
        if let headersNode, p.outputHeaders == .none && p.guarantee == .exactlyOnce {
            diags.error(headersNode, "processing.output_headers: none needs guarantee at_least_once: exactly_once tags every record with weir.txn (and its origin)")
        }
        return p
    }
}
