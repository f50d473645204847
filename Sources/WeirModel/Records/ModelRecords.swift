import WeirJSON

extension RetrainDecision {
    /// The decision as one JSON object. Fields, in order:
    /// - `type`: `"model_trained"`, `"model_promoted"` or `"model_rejected"`.
    /// - `model_id` (string), `time` (integer, caller time, e.g. epoch ms).
    /// - `champion_version`, `challenger_version` (integers).
    /// - `request_id`, `reason` (strings): the retrain request that started it.
    /// - `detail` (string): `"trained"`, `"better_by_margin"`, `"not_better_by_margin"` or `"insufficient_data"`.
    /// - `metrics` (object): `trained_events`, `train_log_loss` (challenger, progressive over the
    ///   buffer), `shadow_events`, `champion_log_loss`, `challenger_log_loss`,
    ///   `champion_accuracy`, `challenger_accuracy` (over the shadow events), `margin`,
    ///   `improvement` (relative log-loss improvement of the challenger).
    public func json(into w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.value(kind.rawValue)
        w.key("model_id"); w.value(modelId)
        w.key("time"); w.value(time)
        w.key("champion_version"); w.value(championVersion)
        w.key("challenger_version"); w.value(challengerVersion)
        w.key("request_id"); w.value(requestId)
        w.key("reason"); w.value(reason)
        w.key("detail"); w.value(detail)
        w.key("metrics"); w.beginObject()
        w.key("trained_events"); w.value(trainedEvents)
        w.key("train_log_loss"); w.value(trainLogLoss)
        w.key("shadow_events"); w.value(shadowEvents)
        w.key("champion_log_loss"); w.value(championLogLoss)
        w.key("challenger_log_loss"); w.value(challengerLogLoss)
        w.key("champion_accuracy"); w.value(championAccuracy)
        w.key("challenger_accuracy"); w.value(challengerAccuracy)
        w.key("margin"); w.value(margin)
        w.key("improvement"); w.value(improvement)
        w.endObject()
        w.endObject()
    }

    public func json() -> [UInt8] { var w = JSONWriter(); json(into: &w); return w.bytes }
}

/// The record published to the model topic (compacted by `model_id`) for a model version.
///
/// JSON fields, in order:
/// - `type`: `"model_version"` (the model topic also carries ``RetrainDecision`` records).
/// - `model_id` (string, the compaction key), `version` (integer), `created_at` (integer).
/// - `parent_version` (integer or null), `reference_id`, `retrain_request_id`, `reason`
///   (string or null): lineage.
/// - `task` (`"logistic"`/`"linear"`), `optimizer` (`"sgd"`/`"adagrad"`/`"ftrl"`).
/// - `numeric_count`, `sparse_dimension` (integers): the input layout.
/// - `training` (object): `learned`, `clipped`, `skipped_invalid_feature`,
///   `skipped_invalid_label`, `skipped_invalid_gradient`, `weight_clamps`.
/// - `intercept` (number), `weights` (array of `[index, value]` for every non-zero weight,
///   index in the layout's weight space: numeric `i`, sparse `numeric_count + k`).
/// - `inputs` (array of strings, only when names are given): the name of numeric input `i`.
/// The bit-exact state travels separately as ``ModelSnapshot`` bytes.
public enum ModelVersionRecord {
    public static func json<O: OnlineOptimizer>(version v: ModelVersion, model m: LinearModel<O>, inputNames: [String]? = nil,
                                                into w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.value("model_version")
        w.key("model_id"); w.value(v.modelId)
        w.key("version"); w.value(v.version)
        w.key("created_at"); w.value(v.createdAt)
        w.key("parent_version"); w.value(v.parentVersion)
        w.key("reference_id"); w.value(v.referenceId)
        w.key("retrain_request_id"); w.value(v.retrainRequestId)
        w.key("reason"); w.value(v.reason)
        w.key("task"); w.value(m.config.task == .logistic ? "logistic" : "linear")
        w.key("optimizer"); w.value(O.name)
        w.key("numeric_count"); w.value(m.config.layout.numericCount)
        w.key("sparse_dimension"); w.value(m.config.layout.sparseDimension)
        let c = m.counts
        w.key("training"); w.beginObject()
        w.key("learned"); w.value(c.learned)
        w.key("clipped"); w.value(c.clipped)
        w.key("skipped_invalid_feature"); w.value(c.skippedInvalidFeature)
        w.key("skipped_invalid_label"); w.value(c.skippedInvalidLabel)
        w.key("skipped_invalid_gradient"); w.value(c.skippedInvalidGradient)
        w.key("weight_clamps"); w.value(c.weightClamps)
        w.endObject()
        w.key("intercept"); w.value(m.intercept)
        w.key("weights"); w.beginArray()
        let ws = m.weights
        for i in 0..<ws.count where ws[i] != 0 { w.beginArray(); w.value(i); w.value(ws[i]); w.endArray() }
        w.endArray()
        if let inputNames {
            w.key("inputs"); w.beginArray()
            for n in inputNames { w.value(n) }
            w.endArray()
        }
        w.endObject()
    }

    public static func json<O: OnlineOptimizer>(version: ModelVersion, model: LinearModel<O>, inputNames: [String]? = nil) -> [UInt8] {
        var w = JSONWriter()
        json(version: version, model: model, inputNames: inputNames, into: &w)
        return w.bytes
    }
}
