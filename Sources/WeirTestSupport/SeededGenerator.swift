import WeirStats

/// The tests' seeded random number generator: WeirStats' ``SplitMix64`` under the name the tests
/// use (same seed, same sequence, on every platform; `nextGaussian()` for normal variates).
public typealias SeededGenerator = SplitMix64
