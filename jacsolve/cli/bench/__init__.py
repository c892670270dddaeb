"""Benchmarks of jacsolve against SciPy and friends, run in one process.

Each area has a module here with ``run(quick=False, progress=None) -> Report``;
``benchmarks/`` holds thin scripts that call them, and ``jacsolve bench``
runs them all. Ratios are medians of repeats after a warm-up call, so JIT
compilation is excluded from them and reported separately.
"""
