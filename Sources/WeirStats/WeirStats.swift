// WeirStats: pure maths for Weir (no Foundation, no dependencies). See README "Architecture".
//
// Folders:
//   Serialization/  ByteWriter, ByteReader, SerializationError, ByteSerializable (versioned LE snapshots)
//   Sketches/       HyperLogLog, KLLSketch (+KLLSortedView), SpaceSaving, StatsHash
//   TwoSample/      NumericReference, NumericComparison/NumericDriftOptions, KolmogorovSmirnov (scipy
//                   ks_2samp), KolmogorovDistribution (scipy kstwo.sf), Smirnov
//   Divergence/     PopulationStability (PSI), JensenShannon, Wasserstein
//   Categorical/    CategoryCounts, CategoricalDrift (PSI, chi-square homogeneity, JS, new categories)
//   Detectors/      ADWIN, PageHinkley (River 0.26.1 semantics)
//   Sampling/       ReservoirSample (seeded Algorithm R), RunningMoments
//   Quality/        QualityCounters
//   Support/        StatsError, InPlaceSort, DoubleSorter (radix), SpecialFunctions, SplitMix64
//
// Conventions: non-finite inputs are rejected with StatsError.nonFiniteValue (statistics) or counted
// and ignored (detectors, sketches); no result is ever NaN; every stateful type is a struct that
// snapshots through ByteSerializable and restores exactly (random state included).
