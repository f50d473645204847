extension DriftPipeline {
    /// Names the category ids of monitor `field` (id `i` is `names[i]`), so records and alerts
    /// show names. Call it when new categories were interned (ids only grow).
    public mutating func setCategoryNames(field: Int, _ names: [String]) {
        guard field >= 0 && field < monitors.count else { return }
        monitors[field].categoryNames = names
    }
}

extension DriftPipeline {
    /// Builds every reference still being collected from what it has (``FieldMonitor/finishReferenceNow()``),
    /// e.g. at the end of a training file, and returns the monitors' references as profile fields
    /// (monitors without a reference are left out).
    public mutating func finishReferencesNow() -> [ReferenceProfile.Field] {
        for i in monitors.indices { monitors[i].finishReferenceNow() }
        return monitors.compactMap { $0.profileField() }
    }
}

extension DriftPipeline {
    /// Chooses monitor `field`'s calibrated thresholds now if its reference exists (``FieldMonitor/calibrate()``).
    public mutating func calibrateMonitor(_ field: Int) -> CalibratedThresholds? {
        guard field >= 0 && field < monitors.count else { return nil }
        return monitors[field].calibrate()
    }
}
