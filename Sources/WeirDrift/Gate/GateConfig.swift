/// Configuration of a ``DriftGate``: a default policy, optional per-field policies, and the
/// gate-wide retrain cooldown.
public struct GateConfig: Sendable, Equatable {
    /// Name used in alert and request ids.
    public var name: String
    public var defaultPolicy: DriftPolicy
    /// Per-field overrides, by feature name.
    public var fieldPolicies: [String: DriftPolicy]
    /// After a retrain request in window w, no new request before window `w + retrainCooldownWindows + 1`
    /// (alerts still open and resolve; they say `retrain_requested: false`).
    public var retrainCooldownWindows: Int
    /// Written into retrain requests (`reference_description`); nil: described from the records' reference.
    public var referenceDescription: String?

    public init(name: String = "weir-gate", defaultPolicy: DriftPolicy = DriftPolicy(),
                fieldPolicies: [String: DriftPolicy] = [:], retrainCooldownWindows: Int = 20,
                referenceDescription: String? = nil) {
        self.name = name; self.defaultPolicy = defaultPolicy; self.fieldPolicies = fieldPolicies
        self.retrainCooldownWindows = Swift.max(0, retrainCooldownWindows); self.referenceDescription = referenceDescription
    }

    public func policy(for feature: String) -> DriftPolicy { fieldPolicies[feature] ?? defaultPolicy }
}

/// Alerts and retrain requests produced by one ``DriftGate/observe(_:)`` call.
public struct GateOutput: Sendable, Equatable {
    public var alerts: [AlertRecord] = []
    public var retrainRequests: [RetrainRequestRecord] = []
    public init() {}
    /// All records as JSON lines: alerts first, then requests.
    public var jsonLines: [String] { alerts.map { $0.json() } + retrainRequests.map { $0.json() } }
}
