// CWeirPrefetch: a software prefetch hint for WeirCore's batch loop.
//
// Why C: Swift has no prefetch intrinsic, and an ordinary load of a value that is not used is
// either removed by the optimiser or stalls retirement on a cache miss. WeirCore's batch loop
// (StreamGraph, WindowOperator+Prefetch) looks a few records ahead and asks the CPU to start
// fetching the per-key state those records will touch (interner slot, key list head, window
// entry, accumulator row), so the independent cache misses of several records overlap instead of
// being paid one after another. A prefetch is only a hint: it never faults (any address is
// allowed, even a stale one) and never changes results.
//
// Header-only (static inline, so Swift inlines it); pure C, no dependencies: WeirCore still knows
// nothing of Kafka or any library.
#ifndef CWEIRPREFETCH_H
#define CWEIRPREFETCH_H

/// Hints that the cache line holding `p` will be read and written soon (keep in all levels).
static inline __attribute__((always_inline)) void weir_prefetch(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

#endif
