/// Why a statistic could not be computed. Cases say what and where; none is ever signalled by NaN.
public enum StatsError: Error, Equatable, Sendable {
    /// A sample that must be non-empty was empty (`which`: "reference" or "current").
    case emptySample(which: String)
    /// A sample held NaN or ±Inf; callers filter and count non-finite values before calling.
    case nonFiniteValue(which: String, index: Int)
    /// A parameter is outside its valid range.
    case invalidParameter(name: String, detail: String)
    /// Two objects to combine were built with different configurations (e.g. sketch sizes, bin edges).
    case mismatchedConfiguration(detail: String)
    /// A test is undefined for this input (e.g. chi-square with a single category); `detail` says why.
    case undefined(statistic: String, detail: String)
}
