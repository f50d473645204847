/// When a window counts as drifted, when it counts as clear (hysteresis), and how the gate turns
/// runs of windows into alerts. One policy per field, or one for all (see ``GateConfig``).
///
/// A window is **drifted** when it has statistics, `n_current >= minWindowSize`, and any enabled rule fires:
/// - numeric: `psi > psiThreshold`; `ks_pvalue < ksPValueThreshold` **and** `ks_statistic > ksStatisticFloor`;
///   `wasserstein_normalized > wassersteinNormalizedThreshold`;
/// - categorical: `psi > psiThreshold`; `chi2_pvalue < chi2PValueThreshold` **and** `js_distance > jsDistanceFloor`.
///
/// A window is **clear** when it has statistics, is large enough, and every enabled rule is below its
/// lower (resolve) level: `psi < psiResolveBelow`; not (`ks_pvalue < ksPValueThreshold` and
/// `ks_statistic > ksStatisticResolveBelow`); not (`chi2_pvalue < chi2PValueThreshold` and
/// `js_distance > jsDistanceResolveBelow`); `wasserstein_normalized < wassersteinResolveBelow`.
/// Windows between the two levels are neither. Windows without statistics or below
/// `minWindowSize` are **insufficient**: they neither extend nor break a run.
public struct DriftPolicy: Sendable, Equatable {
    public var psiThreshold: Double?
    public var ksPValueThreshold: Double?
    /// Effect-size floor ANDed with the KS p-value rule (large windows make tiny shifts significant).
    public var ksStatisticFloor: Double
    public var wassersteinNormalizedThreshold: Double?
    public var chi2PValueThreshold: Double?
    /// Effect-size floor ANDed with the chi-square p-value rule.
    public var jsDistanceFloor: Double
    /// Windows with fewer compared values get no verdict.
    public var minWindowSize: Int
    /// Hysteresis levels (resolve only below these).
    public var psiResolveBelow: Double
    public var ksStatisticResolveBelow: Double
    public var jsDistanceResolveBelow: Double
    public var wassersteinResolveBelow: Double
    /// k: consecutive drifted windows that open an alert.
    public var windowsToOpen: Int
    /// m: consecutive clear windows that resolve an open alert.
    public var windowsToResolve: Int
    /// Windows after a resolution during which the field cannot open a new alert.
    public var alertCooldownWindows: Int
    /// An alert is "critical" when, in its opening run, PSI reached this or the KS statistic
    /// (categorical: JS distance) reached ``criticalEffect``; otherwise "warning".
    public var criticalPSI: Double
    public var criticalEffect: Double

    public init(psiThreshold: Double? = 0.2, ksPValueThreshold: Double? = 0.01, ksStatisticFloor: Double = 0.1,
                wassersteinNormalizedThreshold: Double? = nil, chi2PValueThreshold: Double? = 0.01,
                jsDistanceFloor: Double = 0.1, minWindowSize: Int = 100, psiResolveBelow: Double = 0.1,
                ksStatisticResolveBelow: Double = 0.05, jsDistanceResolveBelow: Double = 0.05,
                wassersteinResolveBelow: Double = 0.05, windowsToOpen: Int = 3, windowsToResolve: Int = 3,
                alertCooldownWindows: Int = 5, criticalPSI: Double = 0.5, criticalEffect: Double = 0.3) {
        self.psiThreshold = psiThreshold; self.ksPValueThreshold = ksPValueThreshold
        self.ksStatisticFloor = ksStatisticFloor; self.wassersteinNormalizedThreshold = wassersteinNormalizedThreshold
        self.chi2PValueThreshold = chi2PValueThreshold; self.jsDistanceFloor = jsDistanceFloor
        self.minWindowSize = minWindowSize; self.psiResolveBelow = psiResolveBelow
        self.ksStatisticResolveBelow = ksStatisticResolveBelow; self.jsDistanceResolveBelow = jsDistanceResolveBelow
        self.wassersteinResolveBelow = wassersteinResolveBelow
        self.windowsToOpen = Swift.max(1, windowsToOpen); self.windowsToResolve = Swift.max(1, windowsToResolve)
        self.alertCooldownWindows = Swift.max(0, alertCooldownWindows)
        self.criticalPSI = criticalPSI; self.criticalEffect = criticalEffect
    }

    /// The workload contract's rule: drifted = `psi > 0.2 or ks_pvalue < 0.01` (no effect floor);
    /// every other window is clear (no hysteresis band), so one non-drifted window ends a run and
    /// resolves; an alert opens when a run reaches 2; no minimum size, no cooldown.
    public static let contract = DriftPolicy(ksStatisticFloor: 0, chi2PValueThreshold: 0.01, jsDistanceFloor: 0,
                                             minWindowSize: 1, psiResolveBelow: 0.2.nextUp, ksStatisticResolveBelow: 0,
                                             jsDistanceResolveBelow: 0, windowsToOpen: 2, windowsToResolve: 1,
                                             alertCooldownWindows: 0)

    /// The verdict on one window.
    public enum Verdict: Sendable, Equatable {
        /// Rules that fired (e.g. ["psi", "ks"]).
        case drifted(reasons: [String])
        case clear
        /// Between the drift and resolve levels.
        case between
        /// No statistics, or fewer than `minWindowSize` values; the reason says which.
        case insufficient(reason: String)

        public var isDrifted: Bool { if case .drifted = self { return true }; return false }
        /// Reasons as written in `drift_reasons`.
        public var reasons: [String] {
            switch self {
            case .drifted(let r): return r
            case .insufficient(let r): return [r]
            case .clear, .between: return []
            }
        }
    }

    /// Evaluates one window's statistics.
    public func evaluate(_ stats: WindowStatistics, nCurrent: Int) -> Verdict {
        switch stats {
        case .undefined(let r): return .insufficient(reason: r.rawValue)
        case _ where nCurrent < minWindowSize: return .insufficient(reason: "insufficient_window")
        case .numeric(let s):
            var reasons: [String] = []
            var clear = true
            if let t = psiThreshold {
                if s.psi > t { reasons.append("psi") }
                if !(s.psi < psiResolveBelow) { clear = false }
            }
            if let a = ksPValueThreshold {
                if s.ksPValue < a && s.ksStatistic > ksStatisticFloor { reasons.append("ks") }
                if s.ksPValue < a && s.ksStatistic > ksStatisticResolveBelow { clear = false }
            }
            if let t = wassersteinNormalizedThreshold {
                if s.wassersteinNormalized > t { reasons.append("wasserstein") }
                if !(s.wassersteinNormalized < wassersteinResolveBelow) { clear = false }
            }
            return reasons.isEmpty ? (clear ? .clear : .between) : .drifted(reasons: reasons)
        case .categorical(let s):
            var reasons: [String] = []
            var clear = true
            if let t = psiThreshold {
                if s.psi > t { reasons.append("psi") }
                if !(s.psi < psiResolveBelow) { clear = false }
            }
            if let a = chi2PValueThreshold {
                if s.chi2PValue < a && s.jsDistance > jsDistanceFloor { reasons.append("chi2") }
                if s.chi2PValue < a && s.jsDistance > jsDistanceResolveBelow { clear = false }
            }
            return reasons.isEmpty ? (clear ? .clear : .between) : .drifted(reasons: reasons)
        }
    }

    /// "critical" or "warning" for a window's statistics.
    public func severity(_ stats: WindowStatistics) -> String {
        switch stats {
        case .numeric(let s): return s.psi >= criticalPSI || s.ksStatistic >= criticalEffect ? "critical" : "warning"
        case .categorical(let s): return s.psi >= criticalPSI || s.jsDistance >= criticalEffect ? "critical" : "warning"
        case .undefined: return "warning"
        }
    }
}
