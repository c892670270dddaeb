"""The command line: ``jacsolve demo``, ``jacsolve bench`` and ``jacsolve propagate``.

Modules: :mod:`~jacsolve.cli.main` (argument parsing), :mod:`~jacsolve.cli.demo`
(the tour), :mod:`~jacsolve.cli.bench` (the benchmark suite).
"""
