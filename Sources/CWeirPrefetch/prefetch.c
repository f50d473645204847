// Intentionally empty: the target is header-only (see include/CWeirPrefetch.h); SwiftPM needs
// one source file to build a C target.
#include "CWeirPrefetch.h"
