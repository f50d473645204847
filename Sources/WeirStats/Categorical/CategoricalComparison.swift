/// Pearson chi-square test of homogeneity on a 2 × k table.
public struct ChiSquareResult: Sendable, Equatable {
    public let statistic: Double
    public let pvalue: Double
    public let degreesOfFreedom: Int
}

/// Drift statistics of current category counts against reference counts. Never NaN.
public struct CategoricalComparison: Sendable, Equatable {
    public let nReference: Int
    public let nCurrent: Int
    /// Categories seen in either sample (the number of bins / table columns).
    public let categoryCount: Int
    /// PSI with one bin per category seen in either sample; a share of 0 becomes the floor (1e-4).
    public let psi: Double
    /// `scipy.stats.chi2_contingency([ref, cur], correction=False)` over the same categories.
    /// With a single category the table is degenerate: statistic 0, p-value 1, dof 0 (as scipy).
    public let chiSquare: ChiSquareResult
    /// Jensen–Shannon distance over the same categories (shares without floor).
    public let jsDistance: Double
    /// Categories present in the current sample but absent from the reference, ascending.
    public let newCategories: [Int32]
    /// Current values whose category is absent from the reference.
    public let newCategoryValueCount: Int
}

/// Categorical drift: PSI, chi-square homogeneity test, JS distance, unseen categories.
public enum CategoricalDrift {
    /// Compares current counts with reference counts.
    /// - Throws: ``StatsError/emptySample(which:)`` when either total is 0.
    /// - Complexity: O(k log k) for k categories.
    public static func compare(reference: CategoryCounts, current: CategoryCounts,
                               psiFloor: Double = PopulationStability.defaultFloor,
                               jsBase: LogBase = .natural) throws(StatsError) -> CategoricalComparison {
        guard reference.total > 0 else { throw .emptySample(which: "reference") }
        guard current.total > 0 else { throw .emptySample(which: "current") }
        let union = Array(Set(reference.categories).union(current.categories)).sorted()
        let r = union.map { reference.count(of: $0) }
        let c = union.map { current.count(of: $0) }
        let psi = try PopulationStability.psi(referenceCounts: r, currentCounts: c, floor: psiFloor)
        let js = try JensenShannon.distance(r, c, base: jsBase)
        let chi = chiSquareHomogeneity(r, c)
        var newCats = [Int32]()
        var newCount = 0
        for (i, id) in union.enumerated() where r[i] == 0 {
            newCats.append(id)
            newCount += c[i]
        }
        return CategoricalComparison(nReference: reference.total, nCurrent: current.total,
                                     categoryCount: union.count, psi: psi, chiSquare: chi, jsDistance: js,
                                     newCategories: newCats, newCategoryValueCount: newCount)
    }

    /// Pearson chi-square on the 2 × k table `[r; c]` (no continuity correction). Columns whose
    /// total is 0 are dropped (scipy would reject them); both row totals must be > 0 — otherwise,
    /// and when fewer than two columns remain, the result is the degenerate (0, 1, 0).
    public static func chiSquareHomogeneity(_ r: [Int], _ c: [Int]) -> ChiSquareResult {
        var cols: [(Double, Double)] = []
        var nr = 0.0, nc = 0.0
        for i in 0..<Swift.min(r.count, c.count) where r[i] + c[i] > 0 {
            cols.append((Double(r[i]), Double(c[i])))
            nr += Double(r[i]); nc += Double(c[i])
        }
        guard cols.count >= 2, nr > 0, nc > 0 else {
            return ChiSquareResult(statistic: 0, pvalue: 1, degreesOfFreedom: 0)
        }
        let n = nr + nc
        var stat = 0.0
        for (o1, o2) in cols {
            let col = o1 + o2
            let e1 = nr * col / n
            let e2 = nc * col / n
            stat += (o1 - e1) * (o1 - e1) / e1
            stat += (o2 - e2) * (o2 - e2) / e2
        }
        let dof = cols.count - 1
        return ChiSquareResult(statistic: stat, pvalue: SpecialFunctions.chiSquareSF(stat, dof: dof), degreesOfFreedom: dof)
    }
}
