// WeirCore module; see README Architecture.
