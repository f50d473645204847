import WeirDrift

/// A drift monitor's outcome, typed, as the pipeline writes its record: what ``RuntimeMetrics``
/// reads instead of parsing the records back. One per drift record or alert (per closed monitor
/// window, never per event).
public enum MonitorEvent: Sendable {
    /// A drift record of the monitors and gate.
    case drift(DriftRecord)
    /// An alert opened or resolved by the gate.
    case alert(AlertRecord)
    /// `drift.mode: contract`: a window's drift record (an alert stays open while its field's
    /// windows drift; there are no resolution records).
    case contractDrift(ContractDriftRecord)
    /// `drift.mode: contract`: an alert.
    case contractAlert(ContractAlertRecord)
}

/// Receives ``MonitorEvent``s on the pipeline's thread, in the order their records are written,
/// whether or not the topology enables the drift and alert sinks (``Pipeline/monitorObserver``).
public protocol MonitorObserver: AnyObject, Sendable {
    func monitored(_ event: MonitorEvent)
}
