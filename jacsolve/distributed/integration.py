"""``integrate(method="qmc" | "mc", client=)`` and ``integrate_mc(client=)`` on a Dask cluster.

The points are cut into the chunks of ``BATCH`` points a local run
evaluates; a task evaluates :data:`TASK_BATCHES` consecutive chunks with a
copy of the integrand problem rebuilt once per worker process. Each chunk
reproduces its local points exactly: a scrambled Sobol replicate is
rebuilt from its seed and fast-forwarded to the chunk, and a Monte Carlo
chunk's uniforms come from the caller's bit generator advanced to the
chunk's first value (PCG64, PCG64DXSM and Philox can be advanced). Each
chunk sends back its sums and its evaluation counters, which the client
adds in chunk order exactly as the local loop does, so the value, error,
``nfev`` and the checks on them are the local ones, bit for bit.
"""
from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass

import numpy as np

from ..integration import cubature as C
from ..integration import quadrature as q
from .client import ordered_map, run_ordered

__all__ = ["qmc_on_cluster", "mc_on_cluster", "Points", "TASK_BATCHES"]

TASK_BATCHES = 8          # chunks of BATCH points per task (2^20 points)


@dataclass(frozen=True)
class _Spec:
    f: object
    region: object
    args: tuple
    det: str
    token: str


_PROBLEMS: dict = {}   # in each worker process: token -> _Problem


def _spec(problem) -> _Spec:
    return _Spec(problem.f, problem.region, problem.args, problem.det, uuid.uuid4().hex)


def _problem(spec: _Spec):
    found = _PROBLEMS.get(spec.token)
    if found is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # the client has warned already
            found = C._Problem(spec.f, spec.region, spec.args, spec.det)
        if len(_PROBLEMS) >= 8:
            _PROBLEMS.pop(next(iter(_PROBLEMS)))
        _PROBLEMS[spec.token] = found
    return found


def _measured(problem, evaluate):
    """evaluate() on zeroed counters: (its value, the counters, first_bad)."""
    names = C._Problem.COUNTERS
    for c in names:
        setattr(problem, c, type(getattr(problem, c))(0))
    problem.first_bad = None
    value = evaluate()
    return value, tuple(getattr(problem, c) for c in names), problem.first_bad


def _absorb(problem, counters, first_bad):
    """Add a chunk's counters to the client's problem, as its local evaluation would."""
    if first_bad is not None and problem.nonfinite == 0:
        problem.first_bad = first_bad
    for c, v in zip(C._Problem.COUNTERS, counters):
        setattr(problem, c, getattr(problem, c) + v)


def _chunks(N):
    nb = -(-N // C.BATCH)
    return [(c0, min(nb, c0 + TASK_BATCHES)) for c0 in range(0, nb, TASK_BATCHES)]


# --------------------------------------------------------------------- QMC
def _qmc_task(spec, seed, N, c0, c1):
    problem = _problem(spec)
    engine = q.sobol_engine(problem.region.dim, np.random.default_rng(seed))
    _fast_forward(engine, c0 * C.BATCH)
    out = []
    for c in range(c0, c1):
        b = min(N, (c + 1) * C.BATCH) - c * C.BATCH
        out.append(_measured(problem, lambda: C.qmc_part(problem, engine, N, b)))
    return out


def _fast_forward(engine, n: int) -> None:
    """engine.fast_forward(n), also for 64-bit points (SciPy 1.17 picks its 32-bit
    kernel for them); drawing and dropping the points if SciPy's internals moved.
    A test checks the points against a sequential run."""
    if n == 0:
        return
    try:
        from scipy.stats import _sobol
        kernel = _sobol._fast_forward["uint64_t" if engine._sv.dtype == np.uint64
                                      else "uint32_t"]
        num = engine.num_generated
        kernel(n=n - 1 if num == 0 else n, num_gen=max(num - 1, 0), dim=engine.d,
               sv=engine._sv, quasi=engine._quasi)
        engine.num_generated += n
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        for start in range(0, n, C.BATCH):
            engine.random(min(n, start + C.BATCH) - start)


def qmc_on_cluster(client, problem, seeds, N, bar=None) -> list:
    """The replicate estimates of ``_qmc``: each the sum of its chunk sums, in order."""
    spec = _spec(problem)
    chunks = _chunks(N)
    items = [(spec, seed, N, c0, c1) for seed in seeds for c0, c1 in chunks]
    estimates, total = [], 0.0
    sizes = [min(N, c1 * C.BATCH) - c0 * C.BATCH for _, _, _, c0, c1 in items]
    for i, part in enumerate(ordered_map(client, _qmc_task, items, name="jacsolve-qmc",
                                         describe=lambda i: _describe(items[i][3:], "QMC"),
                                         sizes=sizes, progress=bar)):
        for value, counters, bad in part:
            total += value
            _absorb(problem, counters, bad)
        if (i + 1) % len(chunks) == 0:
            estimates.append(total)
            total = 0.0
    return estimates


def _describe(chunk, what):
    c0, c1 = chunk
    return f"{what} points {c0 * C.BATCH} to {c1 * C.BATCH - 1}"


# ---------------------------------------------------------------------- MC
@dataclass(frozen=True)
class Points:
    """The uniform points of a Monte Carlo run, from any position of its stream.

    The bit generator's class and state before the run; ``box``: hit-or-miss
    points ``lo + span * U`` weighted by the indicator times ``vol``.
    """
    bitgen: type
    state: dict
    d: int
    box: bool = False
    lo: object = None
    span: object = None
    vol: float = 1.0

    @classmethod
    def cube(cls, rng, d):
        """Uniform points of the unit cube from ``rng``'s stream."""
        return cls._register(cls(*cls._state(rng), d), rng)

    @classmethod
    def box_of(cls, rng, d, lo, span, vol):
        """Hit-or-miss points of the bounding box lo .. lo + span from ``rng``'s stream."""
        return cls._register(cls(*cls._state(rng), d, True, lo, span, vol), rng)

    @staticmethod
    def _register(points, rng):
        _CALLERS[id(points)] = rng    # advanced past the run's points at its end
        return points

    @staticmethod
    def _state(rng):
        bg = rng.bit_generator
        if not hasattr(bg, "advance"):
            raise ValueError(f"client= with a Monte Carlo method needs a seed, or a Generator "
                             f"whose bit generator can be advanced (PCG64, Philox), got "
                             f"{type(bg).__name__}")
        return type(bg), bg.state

    def uniforms(self, start: int, b: int) -> np.ndarray:
        """Points start .. start + b - 1 of the stream: (b, d) uniforms."""
        bg = self.bitgen()
        bg.state = self.state
        bg.advance(start * self.d)
        return np.random.Generator(bg).random((b, self.d))

    def values(self, problem, start: int, b: int) -> np.ndarray:
        U = self.uniforms(start, b)
        if self.box:
            return C.hit_or_miss_part(problem, U, self.lo, self.span, self.vol)
        return problem.pulled_back(U, np.ones(b))


def _mc_task(spec, points, n, c0, c1, shift):
    problem = _problem(spec)
    out = []
    for c in range(c0, c1):
        start = c * C.BATCH
        b = min(n, start + C.BATCH) - start

        def evaluate():
            g = points.values(problem, start, b)
            s = C.mc_shift(g) if shift is None else shift
            return s, C.mc_sums(g, s)
        (s, sums), counters, bad = _measured(problem, evaluate)
        out.append((s, sums, counters, bad))
    return out


def mc_on_cluster(client, problem, points, n, bar=None):
    """(shift, [(sum(g - shift), sum((g - shift)^2)) per chunk]) of ``_monte_carlo``; the
    counters of every chunk are added to ``problem`` in order. The caller's
    Generator is left advanced past the n points, as after a local run."""
    spec = _spec(problem)
    nb = -(-n // C.BATCH)
    first, = run_ordered(client, _mc_task, [(spec, points, n, 0, 1, None)],
                         name="jacsolve-mc-first", sizes=[min(n, C.BATCH)], progress=bar)
    shift = first[0][0]
    items = [(spec, points, n, c0, min(nb, c0 + TASK_BATCHES), shift)
             for c0 in range(1, nb, TASK_BATCHES)]
    sizes = [min(n, c1 * C.BATCH) - c0 * C.BATCH for _, _, _, c0, c1, _ in items]
    parts = []
    for part in [first] + list(ordered_map(client, _mc_task, items, name="jacsolve-mc",
                                           describe=lambda i: _describe(items[i][3:5], "MC"),
                                           sizes=sizes, progress=bar)):
        for _, sums, counters, bad in part:
            parts.append(sums)
            _absorb(problem, counters, bad)
    _advance_caller(points, n)
    return shift, parts


_CALLERS: dict = {}


def _advance_caller(points, n):
    rng = _CALLERS.pop(id(points), None)
    if rng is not None:
        rng.bit_generator.advance(n * points.d)
