"""How a user function becomes compiled code (private).

Every ``numba.njit`` call of jacsolve, its options, the per-function
specialisations and the Python fallback live here; the solvers import them.
"""
