"""Point kernels and quadrature rules behind :mod:`jacsolve.integration`.

Two compiled stages, each a small serial kernel run over chunks of points on
the shared thread pool of :mod:`jacsolve._numba.threads` (the kernels release
the GIL):

* ``map_points``: x = T(u) and the weight times |det J_T(u)| (analytic, or
  from jacsolve's complex-step / central-difference Jacobian kernels);
* ``integrand_points``: f(x) * weight, skipping points of weight 0 (outside
  a hit-or-miss region, or the centre of polar coordinates).

Why not ``prange``: a parfor kernel specialised on a user function took 5-8 s
of CPU to compile per function on a 2-core machine, a serial nogil
kernel 0.4-1.5 s. Splitting map and integrand also means n regions and m
integrands compile n + m kernels, not n * m.
"""
from __future__ import annotations

import functools
import math

import numba
import numpy as np

from .._numba.options import cached_njit, kernel_njit, python_version
from .._numba.threads import pool
from .._linalg import lu_factor
from ..derivatives.kernels import COMPLEX_STEP, OK, jacobian_central_t, jacobian_complex_into

# Steps of the numerical determinants: |u| <= 1 on the cube, so the relative
# steps of the Jacobian kernels are these absolute ones.
CENTRAL_STEP = np.finfo(float).eps ** (1 / 3)
MIN_CHUNK = 4096                       # points per thread task: amortises ~20 us dispatch


def nogil_kernel(fun):
    """Like :func:`jacsolve._numba.options.kernel_njit` (takes a user function
    first), but releases the GIL."""
    return kernel_njit(fun, nogil=True)


# ------------------------------------------------------------- determinants
@cached_njit
def abs_det(A, piv):
    """|det A| for a square A (overwritten when n > 3): closed forms up to 3x3,
    else the product of the LU diagonal (the permutation sign drops out)."""
    n = A.shape[0]
    if n == 1:
        return abs(A[0, 0])
    if n == 2:
        return abs(A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0])
    if n == 3:
        return abs(A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1])
                   - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
                   + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]))
    lu_factor(A, A, piv)
    p = 1.0
    for k in range(n):
        p *= A[k, k]
    return abs(p)


# The three ways to get |det J_T(u)|; one is passed to map_points as ``how``,
# so only the one used is compiled for a given map. The numerical ones store
# J_T (transposed: same determinant) and return 1; ``det_rows`` then takes
# the determinants in a cached kernel: calling abs_det from the specialised
# kernel instead added ~1 s of compilation per map (numba re-optimises the
# linked callees with every caller).
@nogil_kernel
def det_analytic(T, D, u, x, targs, h, Jrow, uc):
    return D(u, *targs)


@nogil_kernel
def det_complex(T, D, u, x, targs, h, Jrow, uc):
    status, nfev = jacobian_complex_into(T, u, targs, h, uc, Jrow)
    return 1.0 if status == OK else np.nan


@nogil_kernel
def det_central(T, D, u, x, targs, h, Jrow, uc):
    d = u.size
    Jt, status, nfev = jacobian_central_t(T, u, targs, x, h, np.zeros(d), np.ones(d))
    if status != OK:
        return np.nan
    copy_square(Jt, Jrow)
    return 1.0


@cached_njit
def copy_square(A, B):
    # explicit loops: a 2-D slice assignment costs ~1 s to compile per caller
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            B[i, j] = A[i, j]


@cached_njit
def copy_row(x, X, i):
    if x.size != X.shape[1]:
        raise ValueError("the region's map returned a vector of the wrong length")
    for k in range(X.shape[1]):
        X[i, k] = x[k]


@nogil_kernel
def map_points(T, D, how, targs, U, X, W, J, hstep, start, stop):
    """X[i] = T(U[i]); W[i] *= |det J_T(U[i])| (analytic) or J[i] = J_T(U[i])^T."""
    d = U.shape[1]
    h = np.full(d, hstep)
    uc = np.empty(d, dtype=np.complex128)  # complex-step work space, once per chunk
    for i in range(start, stop):
        u = U[i]
        x = T(u, *targs)
        copy_row(x, X, i)
        if W[i] != 0.0:
            W[i] *= how(T, D, u, x, targs, h, J[i % J.shape[0]], uc)
    return 0


@cached_njit(nogil=True)
def det_rows(J, W, start, stop):
    """W[i] *= |det J[i]| where W[i] != 0 (J is overwritten)."""
    piv = np.empty(J.shape[1], np.int64)
    for i in range(start, stop):
        if W[i] != 0.0:
            W[i] *= abs_det(J[i], piv)
    return 0


@nogil_kernel
def integrand_points(fun, fargs, X, W, out, start, stop):
    """out[i] = fun(X[i]) * W[i]; fun is not called where W[i] == 0."""
    for i in range(start, stop):
        w = W[i]
        out[i] = fun(X[i], *fargs) * w if w != 0.0 else 0.0
    return 0


@nogil_kernel
def inside_points(inside, iargs, X, W, vol, start, stop):
    """W[i] = vol where X[i] lies in the region, else 0 (hit-or-miss weights)."""
    for i in range(start, stop):
        W[i] = vol if inside(X[i], *iargs) else 0.0
    return 0


@cached_njit
def no_det(u, *targs):
    return np.nan


_HOW = {"analytic": (det_analytic, 1.0), "complex": (det_complex, COMPLEX_STEP),
        "central": (det_central, CENTRAL_STEP)}


# ------------------------------------------------------------ running chunks
def run_chunked(kernel, compiled: bool, n: int, *args) -> None:
    """Run ``kernel(*args, start, stop)`` over [0, n) (threads when compiled)."""
    if not compiled:
        python_version(kernel)(*args, 0, n)
        return
    threads = max(1, numba.get_num_threads())
    if threads == 1 or n < 2 * MIN_CHUNK:
        kernel(*args, 0, n)
        return
    kernel(*args, 0, 0)   # compile (and type-check) once, in this thread
    size = max(MIN_CHUNK, -(-n // (4 * threads)))
    executor = pool()
    futures = [executor.submit(kernel, *args, s, min(n, s + size)) for s in range(0, n, size)]
    for fut in futures:
        fut.result()


def map_and_det(T, D, targs, det: str, compiled: bool, U, W):
    """X = T(U) and W *= |det J_T(U)| by ``det`` ("analytic", "complex", "central")."""
    n, d = U.shape
    how, hstep = _HOW[det]
    X = np.empty_like(U)
    J = np.empty((n, d, d) if det != "analytic" else (1, 1, 1))
    run_chunked(map_points, compiled, n, T, D, how if compiled else python_version(how),
                targs, U, X, W, J, hstep)
    if det != "analytic":
        run_chunked(det_rows, True, n, J, W)
    return X


# --------------------------------------------------------------- rules on [0,1]
@functools.lru_cache(maxsize=64)
def gauss_legendre(m: int):
    """m-point Gauss-Legendre nodes and weights on [0, 1] (read-only arrays)."""
    t, w = np.polynomial.legendre.leggauss(m)
    t = 0.5 * (t + 1.0)
    w = 0.5 * w
    t.flags.writeable = False
    w.flags.writeable = False
    return t, w


def tensor_rule(orders, start: int, stop: int):
    """Points [start, stop) of the tensor Gauss-Legendre rule with ``orders`` per axis."""
    idx = np.unravel_index(np.arange(start, stop), tuple(orders))
    d = len(orders)
    U = np.empty((stop - start, d))
    W = np.ones(stop - start)
    for k, m in enumerate(orders):
        t, w = gauss_legendre(m)
        U[:, k] = t[idx[k]]
        W *= w[idx[k]]
    return U, W


def legendre_tail(m: int) -> np.ndarray:
    """(2, m) rows giving the two highest Legendre coefficients of a function
    from its values times the Gauss weights, w_i p(t_i) (a resolution indicator)."""
    t, _ = gauss_legendre(m)
    x = 2.0 * t - 1.0
    rows = []
    for deg in (m - 1, max(m - 2, 0)):
        c = np.zeros(deg + 1)
        c[deg] = 1.0
        rows.append(np.polynomial.legendre.legval(x, c) * (2 * deg + 1))
    return np.array(rows)


def sobol_engine(d: int, rng):
    """Scrambled Sobol with 64-bit points where SciPy allows (30 bits floor QMC
    results near 1e-9)."""
    from scipy.stats import qmc
    try:
        return qmc.Sobol(d, scramble=True, bits=64, rng=rng)
    except (TypeError, ValueError):   # older SciPy: no bits=64 / no rng keyword
        return qmc.Sobol(d, scramble=True, seed=rng)


def ball_volume(d: int, radius: float) -> float:
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * radius ** d

