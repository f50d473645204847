import WeirJSON
import WeirStats

/// Kind of monitored field.
public enum FieldKind: String, Sendable, Equatable {
    case numeric
    case categorical
}

/// Numeric drift statistics of one window (see docs/drift.md for the exact definitions).
public struct NumericStatistics: Sendable, Equatable {
    public var psi: Double
    public var ksStatistic: Double
    public var ksPValue: Double
    /// "exact" or "asymptotic" (scipy `ks_2samp` default `auto` choice).
    public var ksMethod: String
    public var wasserstein: Double
    public var wassersteinNormalized: Double
    public var jsDistance: Double

    public init(psi: Double, ksStatistic: Double, ksPValue: Double, ksMethod: String, wasserstein: Double,
                wassersteinNormalized: Double, jsDistance: Double) {
        self.psi = psi; self.ksStatistic = ksStatistic; self.ksPValue = ksPValue; self.ksMethod = ksMethod
        self.wasserstein = wasserstein; self.wassersteinNormalized = wassersteinNormalized; self.jsDistance = jsDistance
    }

    public init(_ c: NumericComparison) {
        self.init(psi: c.psi, ksStatistic: c.ks.statistic, ksPValue: c.ks.pvalue, ksMethod: c.ks.method.rawValue,
                  wasserstein: c.wasserstein, wassersteinNormalized: c.wassersteinNormalized, jsDistance: c.jsDistance)
    }
}

/// Categorical drift statistics of one window.
public struct CategoricalStatistics: Sendable, Equatable {
    public var psi: Double
    public var chi2Statistic: Double
    public var chi2PValue: Double
    public var chi2DegreesOfFreedom: Int
    public var jsDistance: Double
    /// Categories in the window but not in the reference (names when known, else the id in decimal).
    public var newCategories: [String]

    public init(psi: Double, chi2Statistic: Double, chi2PValue: Double, chi2DegreesOfFreedom: Int,
                jsDistance: Double, newCategories: [String]) {
        self.psi = psi; self.chi2Statistic = chi2Statistic; self.chi2PValue = chi2PValue
        self.chi2DegreesOfFreedom = chi2DegreesOfFreedom; self.jsDistance = jsDistance; self.newCategories = newCategories
    }

    public init(_ c: CategoricalComparison, name: (Int32) -> String) {
        self.init(psi: c.psi, chi2Statistic: c.chiSquare.statistic, chi2PValue: c.chiSquare.pvalue,
                  chi2DegreesOfFreedom: c.chiSquare.degreesOfFreedom, jsDistance: c.jsDistance,
                  newCategories: c.newCategories.map(name))
    }
}

/// Statistics of one window: numeric, categorical, or undefined (with the reason).
public enum WindowStatistics: Sendable, Equatable {
    case numeric(NumericStatistics)
    case categorical(CategoricalStatistics)
    /// No statistic could be computed; the reason is one of ``UndefinedReason``.
    case undefined(UndefinedReason)
}

/// Why a window has no statistics (written as `undefined_reason`; the statistics are `null`).
public enum UndefinedReason: String, Sendable, Equatable {
    /// The window had no valid value (empty, or all missing / invalid / NaN / ±Inf).
    case emptyCurrent = "empty_current"
    /// The reference has no valid value (e.g. an all-NaN field).
    case emptyReference = "empty_reference"
    /// No reference yet (first window of a rolling reference; time-range reference not closed).
    case noReference = "no_reference"
    /// A score monitor under a fixed model (``RescoringConfig``) whose model has learned from fewer
    /// labels than the warm-up.
    case modelWarmUp = "model_warm_up"
}

/// The model state that scored both a window's inputs and its reference inputs (a score monitor
/// with ``RescoringConfig``), written as `scored_by`.
public struct ScoringState: Sendable, Equatable {
    /// The champion's version (grows by one at each promotion).
    public var modelVersion: Int
    /// Labels the champion has learned from.
    public var labelsLearned: Int
    public init(modelVersion: Int, labelsLearned: Int) { self.modelVersion = modelVersion; self.labelsLearned = labelsLearned }
}

/// The bins behind a window's PSI and JS distance, to plot the reference against the window
/// (`histogram` object). Shares are the plain fractions of each sample per bin (no ε floor; each
/// sums to 1 up to rounding). Numeric: bins are cut at `edges` (the reference's quantile edges, bin
/// `i` = values with exactly `i` edges `<= v`, so `edges.count + 1` bins, the outer ones open-ended).
/// Categorical: one bin per category of either sample, ascending by id, named in `categories`.
public struct DriftHistogram: Sendable, Equatable {
    /// Numeric fields: the PSI bin edges, ascending (empty for categorical fields).
    public var edges: [Double]
    /// Categorical fields: the category of each bin (empty for numeric fields).
    public var categories: [String]
    /// Share of the reference in each bin.
    public var referenceShares: [Double]
    /// Share of the window in each bin.
    public var currentShares: [Double]

    public init(edges: [Double] = [], categories: [String] = [], referenceShares: [Double], currentShares: [Double]) {
        self.edges = edges; self.categories = categories
        self.referenceShares = referenceShares; self.currentShares = currentShares
    }

    /// Numeric bins: the reference's PSI edges and bin shares, and the shares of the ascending
    /// `sortedCurrent` in the same bins. O(edges · log n).
    public init(reference ref: NumericReference, sortedCurrent cur: [Double]) {
        var counts = [Int](repeating: 0, count: ref.edges.count + 1)
        cur.withUnsafeBufferPointer { NumericReference.countPerBin(sorted: $0, edges: ref.edges, into: &counts) }
        let n = Double(Swift.max(1, cur.count))
        self.init(edges: ref.edges, referenceShares: ref.binShares, currentShares: counts.map { Double($0) / n })
    }

    /// Categorical bins: every category of either sample, ascending by id, with both shares.
    public init(reference ref: CategoryCounts, current cur: CategoryCounts, name: (Int32) -> String) {
        let ids = Array(Set(ref.categories).union(cur.categories)).sorted()
        let nr = Double(Swift.max(1, ref.total)), nc = Double(Swift.max(1, cur.total))
        self.init(categories: ids.map(name), referenceShares: ids.map { Double(ref.count(of: $0)) / nr },
                  currentShares: ids.map { Double(cur.count(of: $0)) / nc })
    }
}

/// How the window's values were sampled (`sampling` object).
public struct SamplingInfo: Sendable, Equatable {
    /// The per-window sample cap (nil: unbounded, e.g. categorical counts or `weir compare`).
    public var cap: Int?
    /// Valid values offered to the sample.
    public var seen: Int
    /// Values used by the statistics (`min(seen, cap)`).
    public var kept: Int
    /// True when `seen > cap` (the statistics use a uniform reservoir sample).
    public var sampled: Bool { cap.map { seen > $0 } ?? false }

    public init(cap: Int?, seen: Int, kept: Int) { self.cap = cap; self.seen = seen; self.kept = kept }
}

/// Type of window a record describes.
public enum WindowType: String, Sendable, Equatable {
    /// `window_start`/`window_end` are event sequence numbers `[start, end)` of the monitored stream
    /// (counting from the first event after the reference).
    case count
    /// `window_start`/`window_end` are event times in ms, `[start, end)`.
    case eventTime = "event_time"
}

/// One drift record: one monitored field, one window. Written by ``json()`` with a stable field
/// order, never NaN/Inf (undefined statistics are `null` plus `undefined_reason`).
/// Schema: schemas/drift-record.schema.json.
public struct DriftRecord: Sendable, Equatable {
    public var feature: String
    public var kind: FieldKind
    /// Window sequence number of this monitor (0, 1, …).
    public var window: Int
    public var windowType: WindowType
    public var windowStart: Int64
    public var windowEnd: Int64
    public var reference: ReferenceInfo
    /// Values in the reference (0 when there is none).
    public var nReference: Int
    /// Values compared (the kept sample; for categorical fields, the valid values).
    public var nCurrent: Int
    public var statistics: WindowStatistics
    /// The policy's verdict for this window.
    public var drifted: Bool
    /// Which rules fired (e.g. "psi", "ks"), or why none could ("insufficient_window", …).
    public var driftReasons: [String]
    public var quality: QualityFigures
    public var sampling: SamplingInfo
    /// The model state that scored this window and its reference (score monitors under a fixed
    /// model, ``RescoringConfig``); nil for values judged as fed.
    public var scoredBy: ScoringState?
    /// Earliest and latest event time (ms) of the window's events, nil when they had none (e.g.
    /// `weir compare`). For count windows this is the span to put the window on a time axis.
    public var firstEventTime: Int64?
    public var lastEventTime: Int64?
    /// The bins and both samples' shares in them; nil when the statistics are undefined.
    public var histogram: DriftHistogram?
    /// The thresholds `gate.calibrate` chose for this monitor (``GateCalibration``), nil when fixed.
    public var calibration: CalibratedThresholds?

    public init(feature: String, kind: FieldKind, window: Int, windowType: WindowType, windowStart: Int64,
                windowEnd: Int64, reference: ReferenceInfo, nReference: Int, nCurrent: Int,
                statistics: WindowStatistics, drifted: Bool = false, driftReasons: [String] = [],
                quality: QualityFigures, sampling: SamplingInfo, scoredBy: ScoringState? = nil,
                firstEventTime: Int64? = nil, lastEventTime: Int64? = nil, histogram: DriftHistogram? = nil,
                calibration: CalibratedThresholds? = nil) {
        self.feature = feature; self.kind = kind; self.window = window; self.windowType = windowType
        self.windowStart = windowStart; self.windowEnd = windowEnd; self.reference = reference
        self.nReference = nReference; self.nCurrent = nCurrent; self.statistics = statistics
        self.drifted = drifted; self.driftReasons = driftReasons; self.quality = quality; self.sampling = sampling
        self.scoredBy = scoredBy; self.firstEventTime = firstEventTime; self.lastEventTime = lastEventTime
        self.histogram = histogram; self.calibration = calibration
    }

    public var numeric: NumericStatistics? { if case .numeric(let s) = statistics { return s }; return nil }
    public var categorical: CategoricalStatistics? { if case .categorical(let s) = statistics { return s }; return nil }
    public var undefinedReason: UndefinedReason? { if case .undefined(let r) = statistics { return r }; return nil }

    /// The record as one line of JSON.
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("record", "drift")
        w.field("feature", feature)
        w.field("kind", kind.rawValue)
        w.field("window", window)
        w.field("window_type", windowType.rawValue)
        w.field("window_start", windowStart)
        w.field("window_end", windowEnd)
        w.field("first_event_time", firstEventTime)
        w.field("last_event_time", lastEventTime)
        w.field("reference_id", reference.id)
        w.field("n_reference", nReference)
        w.field("n_current", nCurrent)
        switch kind {
        case .numeric:
            let s = numeric
            w.field("psi", s?.psi)
            w.field("ks_statistic", s?.ksStatistic)
            w.field("ks_pvalue", s?.ksPValue)
            w.field("ks_method", s?.ksMethod)
            w.field("wasserstein", s?.wasserstein)
            w.field("wasserstein_normalized", s?.wassersteinNormalized)
            w.field("js_distance", s?.jsDistance)
        case .categorical:
            let s = categorical
            w.field("psi", s?.psi)
            w.field("chi2_statistic", s?.chi2Statistic)
            w.field("chi2_pvalue", s?.chi2PValue)
            w.field("chi2_dof", s?.chi2DegreesOfFreedom)
            w.field("js_distance", s?.jsDistance)
            w.field("new_categories", strings: s?.newCategories ?? [])
        }
        if let h = histogram {
            w.beginObject("histogram")
            if kind == .numeric { w.field("edges", doubles: h.edges) } else { w.field("categories", strings: h.categories) }
            w.field("reference", doubles: h.referenceShares)
            w.field("current", doubles: h.currentShares)
            w.endObject()
        } else {
            w.nullField("histogram")
        }
        w.field("undefined_reason", undefinedReason?.rawValue)
        w.field("drifted", drifted)
        w.field("drift_reasons", strings: driftReasons)
        if let c = calibration { c.write(into: &w) } else { w.nullField("calibration") }
        quality.write(into: &w)
        w.beginObject("sampling")
        w.field("cap", sampling.cap)
        w.field("seen", sampling.seen)
        w.field("kept", sampling.kept)
        w.field("sampled", sampling.sampled)
        w.endObject()
        if let s = scoredBy {
            w.beginObject("scored_by")
            w.field("model_version", s.modelVersion)
            w.field("labels_learned", s.labelsLearned)
            w.endObject()
        } else {
            w.nullField("scored_by")
        }
        reference.write(into: &w)
        w.endObject()
        return w.string
    }
}
