// WeirStats module; see README Architecture.
