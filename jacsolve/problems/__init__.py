"""Problem libraries shared by the tests, the benchmarks and the demo.

Each function here is compiled once per process however many tests use it.
"""
