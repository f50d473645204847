/// Cross-reference checks on a parsed ``TopologySpec``: every name used is defined, windows are
/// well formed, thresholds are in range. Reports to the collector; never stops at the first.
struct TopologyValidator {
    let diags: DiagnosticCollector

    func validate(_ spec: TopologySpec) {
        let fields = Dictionary(spec.schema.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        validateSchema(spec.schema)
        validateSource(spec.source, fields: fields)
        let features = validateFeatures(spec.features, fields: fields)
        if let model = spec.model {
            validateModel(model, fields: fields, features: features, hasDrift: spec.drift != nil, sourceTopics: spec.source.topics)
        }
        if let drift = spec.drift { validateDrift(drift, fields: fields, features: features, spec: spec) }
        validateSinks(spec)
    }

    private func at(_ loc: SourceLocation?, _ message: String) {
        diags.error(at: loc ?? SourceLocation(file: diags.file, line: 1, column: 1), message)
    }

    private func validateSchema(_ schema: [FieldDeclaration]) {
        for f in schema {
            if let min = f.min, let max = f.max, min > max { at(f.location, "field '\(f.name)': min (\(min)) is greater than max (\(max))") }
            if f.categories != nil && f.type != .category { at(f.location, "field '\(f.name)': 'categories' is only allowed on type category, not \(f.type.rawValue)") }
            if (f.min != nil || f.max != nil) && !f.type.isNumeric { at(f.location, "field '\(f.name)': min/max need a numeric type, not \(f.type.rawValue)") }
            if let c = f.categories, Set(c).count != c.count { at(f.location, "field '\(f.name)': categories has duplicates") }
        }
    }

    private func validateSource(_ s: SourceSpec, fields: [String: FieldDeclaration]) {
        for t in s.topics where !isValidTopic(t) { at(s.location, "source topic '\(t)' is not a valid Kafka topic name") }
        // `weir run` reads one source topic (KafkaRunner) and `weir replay` one input file.
        if s.topics.count > 1 {
            at(s.topicsLocation ?? s.location, "one source topic per topology today; source.topics lists \(s.topics.count) (\(s.topics.joined(separator: ", "))): run one topology per topic")
        }
        if let key = s.keyField {
            if fields[key] == nil { at(s.keyLocation ?? s.location, "source.key '\(key)' is not a field of the schema (fields: \(fields.keys.sorted().joined(separator: ", ")))") }
        }
        if s.processingTime { return }
        guard let et = s.eventTimeField else {
            at(s.location, "source.event_time is required (the field holding event time), unless processing_time: true")
            return
        }
        guard let f = fields[et] else {
            at(s.eventTimeLocation ?? s.location, "source.event_time field '\(et)' is not a field of the schema (fields: \(fields.keys.sorted().joined(separator: ", ")))")
            return
        }
        if f.type != .timestamp && f.type != .int { at(f.location, "event time field '\(et)' must have type timestamp or int, not \(f.type.rawValue)") }
        // StreamGraph refuses an optional time field.
        if !f.required { at(f.location, "event time field '\(et)' must be required (every event needs its event time); remove 'required: false'") }
    }

    /// Returns the defined feature names (numeric outputs) for later references.
    private func validateFeatures(_ features: [FeatureDeclaration], fields: [String: FieldDeclaration]) -> Set<String> {
        var defined = Set<String>()
        let byName = Dictionary(features.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for f in features {
            if defined.contains(f.name) { at(f.location, "feature '\(f.name)' is defined twice") }
            if fields[f.name] != nil { at(f.location, "feature '\(f.name)' has the same name as a schema field; rename it") }
            switch f.kind {
            case let .windowed(window, by, aggregate, field, parameter):
                validateWindow(window, f.location, "feature '\(f.name)'")
                if let by {
                    if let bf = fields[by] {
                        if bf.type == .double { at(f.location, "feature '\(f.name)': cannot key by '\(by)', a double field (use string, category or int)") }
                    } else {
                        at(f.location, "feature '\(f.name)': 'by' field '\(by)' is not a field of the schema (or use 'global')")
                    }
                }
                if aggregate.needsNumericField {
                    if let field {
                        if let ff = fields[field] {
                            if !ff.type.isNumeric { at(f.location, "feature '\(f.name)': \(aggregate.rawValue) needs a numeric field; '\(field)' is \(ff.type.rawValue)") }
                        } else {
                            at(f.location, "feature '\(f.name)': field '\(field)' is not a field of the schema")
                        }
                    } else {
                        at(f.location, "feature '\(f.name)': \(aggregate.rawValue) needs 'field' (the numeric field to aggregate)")
                    }
                } else if aggregate == .topK || aggregate == .distinctCount {
                    if let field {
                        if fields[field] == nil { at(f.location, "feature '\(f.name)': field '\(field)' is not a field of the schema") }
                    } else {
                        at(f.location, "feature '\(f.name)': \(aggregate.rawValue) needs 'field'")
                    }
                }
                if aggregate == .quantile {
                    if let q = parameter, q > 0, q < 1 {} else { at(f.location, "feature '\(f.name)': quantile needs 'quantile' strictly between 0 and 1") }
                }
                if aggregate == .ewma {
                    if let a = parameter, a > 0, a <= 1 {} else { at(f.location, "feature '\(f.name)': ewma needs 'alpha' in (0, 1]") }
                }
            case .expression(let e):
                // Features may be read in any order; cycles are reported below.
                var seen = Set<String>()
                for id in e.identifiers where seen.insert(id).inserted {
                    if let g = byName[id] {
                        if case .oneHot = g.kind {
                            at(f.location, "feature '\(f.name)': expression reads '\(id)', a one_hot feature (one input per category); expressions read numeric fields, windowed and expression features")
                        }
                    } else if let ff = fields[id] {
                        if !ff.type.isNumeric { at(f.location, "feature '\(f.name)': expression reads '\(id)', a \(ff.type.rawValue) field; expressions need numbers") }
                    } else {
                        var msg = "feature '\(f.name)': expression reads '\(id)', which is neither a schema field nor a feature"
                        if let sug = suggestion(for: id, in: fields.keys.sorted() + byName.keys.sorted()) { msg += "; did you mean '\(sug)'?" }
                        at(f.location, msg)
                    }
                }
            case .oneHot(let field, let categories):
                if let ff = fields[field] {
                    if ff.type != .category && ff.type != .string { at(f.location, "feature '\(f.name)': one_hot needs a category or string field; '\(field)' is \(ff.type.rawValue)") }
                    // FeatureAssembler refuses a one-hot input for a category its field does not allow.
                    if let allowed = ff.categories, let cats = categories {
                        for c in cats where !allowed.contains(c) {
                            at(f.location, "feature '\(f.name)': one_hot category '\(c)' is not one of field '\(field)''s categories (\(allowed.joined(separator: ", ")))")
                        }
                    }
                    if ff.categories == nil && categories == nil {
                        at(f.location, "feature '\(f.name)': one_hot of '\(field)', an open category set, needs 'categories' (the inputs to create); other categories give all zeros")
                    }
                } else {
                    at(f.location, "feature '\(f.name)': one_hot field '\(field)' is not a field of the schema")
                }
            }
            defined.insert(f.name)
        }
        for cycle in expressionCycles(features, byName: byName) {
            at(byName[cycle[0]]?.location, "feature '\(cycle[0])': expressions read each other in a cycle (\(cycle.joined(separator: " → ")))")
        }
        return defined
    }

    /// Each cycle among expression features once, as the names around it back to the first
    /// (`[a, b, a]`).
    private func expressionCycles(_ features: [FeatureDeclaration], byName: [String: FeatureDeclaration]) -> [[String]] {
        func reads(_ name: String) -> [String] {
            guard case .expression(let e)? = byName[name]?.kind else { return [] }
            var seen = Set<String>()
            return e.identifiers.filter { byName[$0] != nil && seen.insert($0).inserted }
        }
        var state: [String: Int] = [:]  // 1 on the path, 2 done
        var path: [String] = []
        var cycles: [[String]] = []
        func visit(_ n: String) {
            state[n] = 1
            path.append(n)
            for m in reads(n) {
                if state[m] == 1 {
                    cycles.append(Array(path[path.lastIndex(of: m)!...]) + [m])
                } else if state[m] == nil {
                    visit(m)
                }
            }
            path.removeLast()
            state[n] = 2
        }
        for f in features where state[f.name] == nil { visit(f.name) }
        return cycles
    }

    private func validateWindow(_ w: WindowDeclaration, _ loc: SourceLocation?, _ what: String) {
        switch w {
        case let .tumbling(size, offset):
            if size <= 0 { at(loc, "\(what): window size must be positive") }
            if offset < 0 || (size > 0 && offset >= size) { at(loc, "\(what): window offset must be in [0, size)") }
        case let .hopping(size, hop):
            if size <= 0 || hop <= 0 { at(loc, "\(what): window size and hop must be positive") }
            if hop > size { at(loc, "\(what): hop (\(hop) ms) is larger than the window size (\(size) ms); events between windows would be lost") }
        case .sliding(let size):
            if size <= 0 { at(loc, "\(what): window size must be positive") }
        case .session(let gap):
            if gap <= 0 { at(loc, "\(what): session gap must be positive") }
        case .count(let n):
            if n <= 0 { at(loc, "\(what): count window must be at least 1 event") }
        }
    }

    private func validateModel(_ m: ModelSpec, fields: [String: FieldDeclaration], features: Set<String>, hasDrift: Bool,
                               sourceTopics: [String]) {
        for (i, input) in m.inputs.enumerated() where !features.contains(input) {
            let loc = i < m.inputLocations.count ? m.inputLocations[i] : m.location
            if let f = fields[input] {
                if !f.type.isNumeric { at(loc, "model input '\(input)' is a \(f.type.rawValue) field; use a one_hot feature for categories") }
            } else {
                at(loc, "model input '\(input)' is not a feature or a schema field (features: \(features.sorted().joined(separator: ", ")))")
            }
        }
        switch m.labels {
        case .field(let label):
            if let f = fields[label] {
                if !f.type.isNumeric { at(f.location, "model label '\(label)' must be numeric (0/1 for logistic), not \(f.type.rawValue)") }
            } else {
                at(m.location, "model.label '\(label)' is not a field of the schema")
            }
        case let .topic(topic, idField, _, _):
            if !topic.isEmpty && !isValidTopic(topic) { at(m.location, "model.label_topic.topic '\(topic)' is not a valid Kafka topic name") }
            if let f = fields[idField] {
                // The label join keys events by this field (LabelTopicJoin).
                if f.type != .string && f.type != .int {
                    at(m.location, "model.label_topic.id_field '\(idField)' must be a string or int field, not \(f.type.rawValue)")
                }
            } else {
                at(m.location, "model.label_topic.id_field '\(idField)' is not a field of the schema")
            }
            if sourceTopics.contains(topic) { at(m.location, "model.label_topic.topic '\(topic)' must differ from the source topic") }
        }
        if !(m.learningRate > 0) { at(m.location, "model.learning_rate must be positive") }
        if m.l1 < 0 || m.l2 < 0 { at(m.location, "model.l1 and model.l2 must not be negative") }
        var carried = Set<String>()
        for (i, name) in m.carry.enumerated() {
            let loc = i < m.carryLocations.count ? m.carryLocations[i] : m.location
            if ModelSpec.scoreRecordKeys.contains(name) {
                at(loc, "model.carry '\(name)' collides with the score record's own key '\(name)' (reserved: \(ModelSpec.scoreRecordKeys.sorted().joined(separator: ", ")))")
            } else if fields[name] == nil {
                var msg = "model.carry '\(name)' is not a field of the schema"
                if let sug = suggestion(for: name, in: fields.keys.sorted()) { msg += "; did you mean '\(sug)'?" }
                at(loc, msg + " (fields: \(fields.keys.sorted().joined(separator: ", ")))")
            }
            if !carried.insert(name).inserted { at(loc, "model.carry names '\(name)' twice") }
        }
        if m.retraining != nil && !hasDrift { at(m.location, "model.retraining needs a 'drift' section (the gate decides when to retrain)") }
    }

    private func validateDrift(_ d: DriftDeclaration, fields: [String: FieldDeclaration], features: Set<String>, spec: TopologySpec) {
        let hasModel = spec.model != nil
        if d.monitors.isEmpty { at(d.location, "drift needs at least one monitor") }
        for m in d.monitors {
            if m.field == "score" {
                if !hasModel { at(m.location, "drift monitor 'score' needs a model") }
                continue
            }
            if let f = fields[m.field] {
                let cat = f.type == .category || f.type == .string || f.type == .bool
                if m.categorical && !cat { at(m.location, "drift monitor '\(m.field)' is marked categorical but the field is \(f.type.rawValue)") }
                if !m.categorical && (f.type == .category || f.type == .string) {
                    at(m.location, "drift monitor '\(m.field)' is a \(f.type.rawValue) field; add 'categorical: true'")
                }
            } else if !features.contains(m.field) {
                at(m.location, "drift monitor '\(m.field)' is not a schema field, a feature, or 'score'")
            } else if !(spec.model?.inputs.contains(m.field) ?? false)
                        || spec.features.contains(where: { if $0.name == m.field, case .oneHot = $0.kind { return true } else { return false } }) {
                // The runtime monitors a feature through the model's input vector (DriftStage).
                at(m.location, "drift monitor '\(m.field)' is a feature the model does not read as one input; monitor a schema field, a model input (not one_hot) or 'score'")
            }
        }
        if d.mode == .contract {
            if case .firstEvents = d.reference {} else { at(d.location, "drift.mode contract needs reference: {first_events: N}") }
            if case .count = d.window {} else { at(d.location, "drift.mode contract needs window: {count: N}") }
            for m in d.monitors where m.categorical { at(m.location, "drift.mode contract monitors numeric values only; '\(m.field)' is categorical") }
        }
        let g = d.gate
        for (name, p) in [("ks_pvalue", g.ksPValue), ("chi2_pvalue", g.chi2PValue)] {
            if let p, !(p > 0 && p < 1) { at(g.location, "drift.gate.\(name) must be between 0 and 1, got \(p)") }
        }
        if let psi = g.psi, !(psi > 0) { at(g.location, "drift.gate.psi must be positive") }
        if let r = g.resolveBelowPSI, let psi = g.psi, r > psi { at(g.location, "drift.gate.resolve_below_psi (\(r)) must not exceed drift.gate.psi (\(psi))") }
        if g.psi == nil && g.ksPValue == nil && g.chi2PValue == nil && g.wassersteinNormalized == nil && g.jsDistance == nil {
            at(g.location, "drift.gate needs at least one threshold (psi, ks_pvalue, chi2_pvalue, wasserstein_normalized, js_distance)")
        }
        if case .count(let n) = d.window, n < g.minWindowSize {
            at(d.location, "drift.window of \(n) events is smaller than drift.gate.min_window_size (\(g.minWindowSize)); no window would count")
        }
    }

    private func validateSinks(_ spec: TopologySpec) {
        let s = spec.sinks
        for t in [s.scores, s.features, s.drift, s.alerts, s.retrain, s.models, s.late, s.deadLetters, s.windows] where !isValidTopic(t) {
            at(nil, "sink topic '\(t)' is not a valid Kafka topic name")
        }
        for t in spec.source.topics where [s.scores, s.drift, s.alerts, s.deadLetters].contains(t) {
            at(spec.source.location, "topic '\(t)' is both a source and a sink")
        }
    }

    private func isValidTopic(_ t: String) -> Bool {
        !t.isEmpty && t.count <= 249 && t != "." && t != ".." && t.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }
}
