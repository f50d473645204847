import WeirCore
import WeirJSON
import WeirModel
import WeirTopology

/// An HTTP answer built by the runtime (status and JSON body), without any HTTP library.
public struct ServingReply: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    /// `{"error": code, "reason": reason[, "field": field]}` with `status`.
    public static func error(_ status: Int, _ code: String, reason: String, field: String? = nil) -> ServingReply {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.field("error", code)
        json.field("reason", reason)
        if let field { json.field("field", field) }
        json.endObject()
        return ServingReply(status: status, body: json.bytes)
    }

    /// The body as text (tests, logs).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Serving reads of a running pipeline (`GET /v1/features/{key}`, `POST /v1/score`; see
/// docs/serving.md). Both leave the pipeline unchanged: call them on the thread that owns it,
/// between batches (``ServingMailbox/serve(_:now:)`` does).
extension Pipeline {
    /// The schema field keys are served by: `source.key_field`, else the key field of the windows
    /// that features read.
    public var servedKeyField: String? { graph.servedKeyField(compiled.spec.source.keyField) }

    /// The topology's windowed features (`features:` with a `window`), by name
    /// (``servedFeatureRefs``, resolved once).
    static func resolveServedFeatures(_ compiled: CompiledTopology, _ graph: StreamGraph) -> [ServedFeatureRef] {
        compiled.windowColumns.sorted { $0.key < $1.key }.compactMap { name, wc in
            graph.servedFeatureRef(name: name, window: wc.window, column: wc.column)
        }
    }

    /// `GET /v1/features/{key}`: the topology's windowed features keyed by the served key field,
    /// by name: 200 with `{"key", "key_field", "features": [{"name", "value", "window", "start",
    /// "end"}], "watermark", "model_id", "model_version"}`; 404 when no keyed window holds the key
    /// or the topology has no keyed window. O(features × the key's windows); no allocation held.
    public func featuresReply(key: String) -> ServingReply {
        guard let field = servedKeyField else {
            return .error(404, "no_keyed_features", reason: "the topology has no window feature keyed by a field")
        }
        guard let features = graph.servedFeatures(key: key, keyField: field, features: servedFeatureRefs) else {
            return .error(404, "unknown_key", reason: "no live state for key '\(key)' of field '\(field)'")
        }
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("key", key)
        json.field("key_field", field)
        json.key("features")
        json.beginArray()
        for f in features {
            json.beginObject()
            json.field("name", f.name)
            json.field("value", f.value)
            json.field("window", f.window)
            json.field("start", f.start)
            json.field("end", f.end)
            json.endObject()
        }
        json.endArray()
        json.field("watermark", graph.watermark)
        writeModel(&json)
        json.endObject()
        return ServingReply(status: 200, body: json.bytes)
    }

    /// `POST /v1/score`: decodes `body` like a source record (400 with the dead letter's reason
    /// and field otherwise), computes the features it would get if it were the next event ingested
    /// and scores them with the current champion, changing nothing. 200 with `{"key",
    /// "event_time", "score", "model_id", "model_version", "features", "feature_names",
    /// "watermark"}`; 404 when the topology has no model.
    /// - Parameter now: wall-clock epoch ms (processing-time windows).
    public func scoreReply(event body: [UInt8], now: Int64) -> ServingReply {
        guard let model else { return .error(404, "no_model", reason: "the topology has no model to score with") }
        let attempt: Result<PeekedEvent, DecodeError> = body.withUnsafeBytes { b in
            do throws(DecodeError) { return .success(try graph.peek(b, now: now)) } catch { return .failure(error) }
        }
        let peeked: PeekedEvent
        switch attempt {
        case .success(let p): peeked = p
        case .failure(let error): return .error(400, "invalid_event", reason: error.description, field: error.fieldName)
        }
        let (score, version, scored) = peekScore(peeked, model: model)
        var json = JSONWriter(capacity: 512)
        json.beginObject()
        json.key("key")
        if let kf = keyField, let kt = keyType, peeked.records.isPresent(0, kf) {
            switch kt {
            case .string: peeked.records.withStringBytes(0, kf) { json.value(utf8: $0) }
            case .category:
                // A category not yet interned is named in the record's own bytes only: find it again.
                json.value(graph.decoder.categoryName(field: kf, id: peeked.records.category(0, kf)) ?? "")
            default: json.value(peeked.records.numeric(0, kf, type: kt))
            }
        } else {
            json.null()
        }
        json.field("event_time", peeked.eventTime)
        json.field("score", score)
        json.field("model_id", compiled.spec.name)
        json.field("model_version", version)
        json.key("features")
        json.beginArray()
        for x in scored { json.value(x) }
        json.endArray()
        json.key("feature_names")
        json.beginArray()
        for n in graph.assembler?.names ?? [] { json.value(n) }
        json.endArray()
        json.field("watermark", peeked.watermark)
        json.endObject()
        return ServingReply(status: 200, body: json.bytes)
    }

    /// Scores a peeked event as ingesting it would (test-then-train scores before learning): the
    /// standardiser observes the event first when ingesting would (a label in the event, or an
    /// event id joined from the label topic), on a copy. Returns the score, the champion's version
    /// and the model input as scored (after standardisation, when configured), as score records
    /// carry it (`model.emit_features`).
    func peekScore(_ peeked: PeekedEvent, model: ModelStage) -> (Double, Int, [Double]) {
        var input = ModelInput(layout: FeatureLayout(numericCount: peeked.vector.count))
        peeked.vector.withUnsafeBufferPointer { v in input.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: v) } }
        let observes: Bool
        if let join = labelTopic {
            observes = join.eventID(peeked.records, 0) != nil
        } else if let lf = labelField {
            observes = peeked.records.isPresent(0, lf)
        } else {
            observes = false
        }
        let score = model.peekScore(&input, observes: observes)
        return (score, model.version, input.withUnsafeMutableNumeric { Array($0) })
    }

    private func writeModel(_ json: inout JSONWriter) {
        json.field("model_id", model == nil ? nil : compiled.spec.name)
        json.key("model_version")
        if let m = model { json.value(Int64(m.version)) } else { json.null() }
    }
}

extension ModelStage {
    /// The champion's score of `input` as ``processVersioned(_:label:time:)`` would compute it,
    /// learning nothing and changing nothing: standardised with a copy of the statistics, which
    /// first observe the input when `observes` (a labelled event, or one joined later by id).
    func peekScore(_ input: inout ModelInput, observes: Bool) -> Double {
        if let l = sgd { return Self.peek(l, &input, observes) }
        if let l = adagrad { return Self.peek(l, &input, observes) }
        return Self.peek(ftrl!, &input, observes)
    }

    static func peek<O, D>(_ l: OnlineLearner<O, D>, _ input: inout ModelInput, _ observes: Bool) -> Double {
        let champion = l.champion
        guard observes else {
            l.standardizer?.transform(&input)
            return champion.predict(input)
        }
        if var s = l.standardizer { s.observeAndTransform(&input) }
        var z = champion.rawScore(input)
        if !z.isFinite && !input.isFinite {
            _ = input.zeroNonFinite()
            z = champion.rawScore(input)
        }
        return champion.link(z)
    }
}
