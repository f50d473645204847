// WeirDrift module; see README Architecture.
