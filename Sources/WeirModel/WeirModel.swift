// WeirModel: online models, prequential evaluation and gated retraining. See README "Architecture".
//
// Depends only on WeirStats (ADWIN / Page-Hinkley, ByteWriter / ByteReader). It never sees WeirCore:
// a topology adapter fills a `ModelInput` (dense numeric block + sparse one-hot/hashed entries) from
// the core's feature vectors, with `ModelInput.fill` and precomputed `CategorySlots`.
//
// Folders:
//   Features/     ModelInput (the model-input view), FeatureLayout, MurmurHash3 x86_32 feature hashing,
//                 CategorySlots (slot per interned category id), OnlineStandardizer (Welford).
//   Optimizers/   OnlineOptimizer protocol; SGD, AdaGrad, FTRLProximal; LearningRate schedules.
//   Linear/       LinearModel<O> (logistic / linear regression, River's GLM step), SoftmaxRegression<O>,
//                 DoubleStorage (copy-on-write weight storage written through raw pointers).
//   Labels/       LabelJoiner (delayed labels within a bounded wait), InputSlab.
//   Metrics/      PrequentialMetrics (River's LogLoss / Accuracy), WindowedBinaryMetrics (log loss,
//                 accuracy, precision, recall, exact ROC AUC), WindowedRegressionMetrics (MAE, RMSE),
//                 LossDriftDetector with ADWIN / Page-Hinkley adapters.
//   Registry/     ModelVersion (id, version, lineage), ModelSnapshot (bit-exact bytes), checkpoints.
//   Retraining/   RetrainingGate (champion / challenger state machine), LabelledBuffer, RetrainDecision.
//   Records/      RetrainDecision and ModelVersionRecord JSON (through WeirJSON's JSONWriter; the score
//                 record is written by WeirRuntime's pipeline, defined in docs/records.md and its schema).
//   Pipeline/     OnlineLearner: score on arrival, learn when the label joins, metrics, drift, gate.
//
// Hot path (per event, no allocation): ModelInput.fill → OnlineLearner.score / scoreAndLearn
// (or LinearModel.predictThenLearn) → later OnlineLearner.applyLabel.
