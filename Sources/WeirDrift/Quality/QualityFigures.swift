import WeirJSON
import WeirStats

/// Data-quality figures of one field over one window, as written in a drift record's `quality`
/// object. Rates are shares of ``count`` (0, never NaN, for an empty window).
public struct QualityFigures: Sendable, Equatable {
    /// Events in which the field was expected (missing, invalid and non-finite values included).
    public var count: Int
    public var missing: Int
    public var invalidType: Int
    public var outOfRange: Int
    public var nan: Int
    public var infinite: Int
    /// Distinct categories absent from the reference (categorical fields; 0 for numeric).
    public var newCategories: Int
    /// Values whose category is absent from the reference.
    public var newCategoryValues: Int
    /// Dead-lettered events attributed to this window by the caller (e.g. the decoder's count).
    public var deadLetters: Int
    /// Values counted in the overflow category: beyond the monitor's category cap or with a too-long
    /// name (``MonitorConfig/maxCategories``, ``MonitorConfig/maxCategoryLength``).
    public var categoryOverflow: Int

    public init(count: Int = 0, missing: Int = 0, invalidType: Int = 0, outOfRange: Int = 0, nan: Int = 0,
                infinite: Int = 0, newCategories: Int = 0, newCategoryValues: Int = 0, deadLetters: Int = 0,
                categoryOverflow: Int = 0) {
        self.count = count; self.missing = missing; self.invalidType = invalidType; self.outOfRange = outOfRange
        self.nan = nan; self.infinite = infinite; self.newCategories = newCategories
        self.newCategoryValues = newCategoryValues; self.deadLetters = deadLetters
        self.categoryOverflow = categoryOverflow
    }

    /// Figures from WeirStats counters plus the caller's dead-letter count and distinct new categories.
    public init(_ q: QualityCounters, newCategories: Int = 0, deadLetters: Int = 0, categoryOverflow: Int = 0) {
        self.init(count: q.total, missing: q.missing, invalidType: q.invalidType, outOfRange: q.outOfRange,
                  nan: q.nan, infinite: q.infinite, newCategories: newCategories,
                  newCategoryValues: q.newCategory, deadLetters: deadLetters, categoryOverflow: categoryOverflow)
    }

    private func rate(_ n: Int) -> Double { count > 0 ? Double(n) / Double(count) : 0 }
    public var missingRate: Double { rate(missing) }
    public var invalidTypeRate: Double { rate(invalidType) }
    public var outOfRangeRate: Double { rate(outOfRange) }
    /// NaN plus ±Inf values.
    public var nanInfCount: Int { nan + infinite }
    /// Values usable by the statistics (present, right type, finite).
    public var validCount: Int { count - missing - invalidType - nan - infinite }
    /// Share of the valid values whose category is absent from the reference (0 when none is valid).
    public var newCategoryShare: Double { validCount > 0 ? Double(newCategoryValues) / Double(validCount) : 0 }
    /// Share of ``count`` counted in the overflow category.
    public var categoryOverflowRate: Double { rate(categoryOverflow) }

    /// Writes the `quality` object.
    public func write(into w: inout JSONWriter, key: String = "quality") {
        w.beginObject(key)
        w.field("count", count)
        w.field("valid", validCount)
        w.field("missing", missing)
        w.field("missing_rate", missingRate)
        w.field("invalid_type", invalidType)
        w.field("invalid_type_rate", invalidTypeRate)
        w.field("out_of_range", outOfRange)
        w.field("out_of_range_rate", outOfRangeRate)
        w.field("nan_count", nan)
        w.field("inf_count", infinite)
        w.field("nan_inf_count", nanInfCount)
        w.field("new_categories", newCategories)
        w.field("new_category_values", newCategoryValues)
        w.field("new_category_share", newCategoryShare)
        w.field("category_overflow", categoryOverflow)
        w.field("category_overflow_rate", categoryOverflowRate)
        w.field("dead_letters", deadLetters)
        w.endObject()
    }
}
