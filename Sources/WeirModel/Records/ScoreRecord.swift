/// One scored event, for the score topic.
///
/// JSON fields (`json(into:)`), in order:
/// - `key` (string): the event key.
/// - `event_time` (integer): event time, epoch ms.
/// - `score` (number): P(y = 1) or the regression value (`null` if not finite, never expected).
/// - `model_id` (string), `model_version` (integer): the champion that scored it.
/// - `features` (array of numbers, optional): the model input as scored (numeric block, after
///   standardisation if configured); present only when the record carries features.
/// - `sparse` (array of `[index, value]`, optional): the sparse entries, with `features`.
public struct ScoreRecord: Sendable, Equatable {
    public var key: String
    public var eventTime: Int64
    public var score: Double
    public var modelId: String
    public var modelVersion: Int
    public var features: ModelInput?

    public init(key: String, eventTime: Int64, score: Double, modelId: String, modelVersion: Int, features: ModelInput? = nil) {
        self.key = key
        self.eventTime = eventTime
        self.score = score
        self.modelId = modelId
        self.modelVersion = modelVersion
        self.features = features
    }

    /// Appends this record as one JSON object.
    public func json(into w: inout JSONWriter) {
        w.beginObject()
        w.key("key"); w.value(key)
        w.key("event_time"); w.value(eventTime)
        w.key("score"); w.value(score)
        w.key("model_id"); w.value(modelId)
        w.key("model_version"); w.value(modelVersion)
        if let f = features {
            w.key("features"); w.beginArray()
            for v in f.numeric { w.value(v) }
            w.endArray()
            w.key("sparse"); w.beginArray()
            for k in 0..<f.sparseCount {
                w.beginArray(); w.value(Int(f.sparseIndices[k])); w.value(f.sparseValues[k]); w.endArray()
            }
            w.endArray()
        }
        w.endObject()
    }

    /// This record as JSON bytes.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        json(into: &w)
        return w.bytes
    }
}
