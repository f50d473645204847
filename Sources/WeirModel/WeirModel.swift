// WeirModel module; see README Architecture.
