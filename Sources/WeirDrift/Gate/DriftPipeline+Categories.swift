extension DriftPipeline {
    /// Names the category ids of monitor `field` (id `i` is `names[i]`), so records and alerts
    /// show names. Call it when new categories were interned (ids only grow).
    public mutating func setCategoryNames(field: Int, _ names: [String]) {
        guard field >= 0 && field < monitors.count else { return }
        monitors[field].categoryNames = names
    }
}
