// WeirDrift: drift monitors, data quality, drift/alert/retrain records and the retraining gate.
// Depends on WeirStats for the maths; fed with plain values (Double, Int32 category ids, markers for
// missing / invalid-type values), so the topology layer connects WeirCore's records to it.
//
// Folders:
//   References/  ReferenceSpec, FieldReference, ReferenceInfo, ReferenceBuilder, ReferenceProfile (file)
//   Monitors/    MonitorConfig, WindowSpec, FieldMonitor (count and event-time windows), ContractDriftMonitor
//   Quality/     QualityFigures (per field and window, JSON)
//   Gate/        DriftPolicy (verdicts), GateConfig, DriftGate (state machine, snapshots)
//   Records/     DriftRecord, AlertRecord, RetrainRequestRecord (written by WeirJSON's JSONWriter)
//   Compare/     DriftCompare (`weir compare` logic: file loading with line-numbered errors)
// Exact definitions: docs/drift.md. JSON Schemas: schemas/*.schema.json.
