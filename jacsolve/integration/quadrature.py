"""Point kernels and quadrature rules behind :mod:`jacsolve.integration`.

Two compiled stages, each a small serial kernel run over chunks of points on
the shared thread pool of :mod:`jacsolve._numba.threads` (the kernels release
the GIL):

* ``map_points``: x = T(u) and the weight times |det J_T(u)| (analytic, or
  from jacsolve's complex-step / central-difference Jacobian kernels);
* ``integrand_points``: f(x) * weight, skipping points of weight 0 (outside
  a hit-or-miss region, or the centre of polar coordinates);
* ``inside_points``: the hit-or-miss weights from a region's indicator.

Each kernel takes its functions (map T, determinant D, indicator, integrand)
as its first parameters and is reached in three tiers:

* **cached** (the default): :func:`bound_kernel` generates a wrapper with
  those parameters bound to *module-level* compiled functions and compiles it
  once with ``cache=True``, so later processes load it from numba's cache.
  The built-in regions' maps are such functions, with their parameters in
  arrays; a user function is reached through the integer addresses of its
  adapters (carried in the function's argument tuple), by
  :func:`jacsolve._numba.tiers.address_call` for maps (vector output) and by
  :func:`scalar_call` for integrands, determinants, indicators, curves and
  surfaces (scalar output), so per user function only the function itself
  and its tiny adapters compile;
* **specialised**: the kernel compiled with the user's functions as
  dispatcher arguments (per function and process), for ``args`` that cannot
  travel as one float vector;
* **python**: the kernels' Python versions, for plain Python functions.

Why not ``prange``: a parfor kernel specialised on a user function took 5-8 s
of CPU to compile per function on a 2-core machine. Splitting map and
integrand also means n regions and m integrands compile n + m kernels, not
n * m.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import math
import warnings

import numba
import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning
from numba.extending import overload

from .._numba.addresses import function_loader, addresses_of
from .._numba.options import NUMBA_OPTIONS, cached_njit, generated, kernel_njit, python_version
from .._numba.prepared import complex_failure_reason, prepare
from .._numba.threads import pool
from .._numba.tiers import stand_in
from .._linalg import lu_factor
from ..derivatives.kernels import COMPLEX_STEP, OK, jacobian_central_t, jacobian_complex_into
from ..status import not_complex_safe

# Steps of the numerical determinants: |u| <= 1 on the cube, so the relative
# steps of the Jacobian kernels are these absolute ones.
CENTRAL_STEP = np.finfo(float).eps ** (1 / 3)
MIN_CHUNK = 4096                       # points per thread task: amortises ~20 us dispatch


def nogil_kernel(fun):
    """Like :func:`jacsolve._numba.options.kernel_njit` (takes functions
    first), but releases the GIL."""
    return kernel_njit(fun, nogil=True)


# ----------------------------------------------------- scalar user functions
# Integrands, analytic determinants, indicators, curves and surfaces return a
# scalar. Their adapters (see :func:`adapter`) return it as a scalar too:
# through an adapter that returns a new length-1 array, an integrand cost
# ~50 ns per point instead of ~16 ns (allocation and reference counting).
# ``scalar_call(x, p, rc, rj, cc, cj)`` calls the real or complex adapter by
# x's type; x is a C-contiguous 1-D array ("vector" adapters) or a number
# ("number" adapters: curves of one variable).
F1 = types.float64[::1]
C1 = types.complex128[::1]
SCALAR_SIGNATURES = {("vector", False): types.float64(F1, F1),
                     ("vector", True): types.complex128(C1, F1),
                     ("number", False): types.float64(types.float64, F1),
                     ("number", True): types.complex128(types.complex128, F1)}
_load_rv, _load_cv, _load_rn, _load_cn = (
    function_loader(types.FunctionType(SCALAR_SIGNATURES[key]))
    for key in (("vector", False), ("vector", True), ("number", False), ("number", True)))


def scalar_call(x, p, rc, rj, cc, cj):
    """A scalar user function at x through its adapter for x's type (see above).

    Compiled only, and inlined into its caller (numba's overload with
    ``inline="always"``): a call layer of its own cost ~25 ns per point. Call
    it with its arguments written out (not ``*args``, which numba cannot
    inline).
    """
    raise NotImplementedError


@overload(scalar_call, inline="always")
def _scalar_call_compiled(x, p, rc, rj, cc, cj):
    if isinstance(x, types.Array):
        if isinstance(x.dtype, types.Complex):
            return lambda x, p, rc, rj, cc, cj: _load_cv(cc, cj)(x, p)
        return lambda x, p, rc, rj, cc, cj: _load_rv(rc, rj)(x, p)
    if isinstance(x, types.Complex):
        return lambda x, p, rc, rj, cc, cj: _load_cn(cc, cj)(x, p)
    return lambda x, p, rc, rj, cc, cj: _load_rn(rc, rj)(x, p)


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
# so only the one used is compiled for a given map. T is called as
# T(u, *targs), D as D(u, *dargs). The numerical ones store J_T (transposed:
# same determinant) and return 1; ``det_rows`` then takes the determinants
# in a cached kernel of its own, so the map kernels stay small.
@nogil_kernel
def det_analytic(T, D, u, x, targs, dargs, h, Jrow, uc):
    return D(u, *dargs)


@nogil_kernel
def det_complex(T, D, u, x, targs, dargs, h, Jrow, uc):
    status, nfev = jacobian_complex_into(T, u, targs, h, uc, Jrow)
    return 1.0 if status == OK else np.nan


@nogil_kernel
def det_central(T, D, u, x, targs, dargs, h, Jrow, uc):
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
def map_points(T, D, how, targs, dargs, U, X, W, J, hstep, start, stop):
    """X[i] = T(U[i]); W[i] *= |det J_T(U[i])| (analytic) or J[i] = J_T(U[i])^T.

    Where the real map T(U[i]) is not finite, W[i] = NaN: the determinant's
    method may not see it (the complex step of sqrt(u - 1/2) is finite for
    u < 1/2), and the integrand then reports the point as non-finite.
    """
    d = U.shape[1]
    h = np.full(d, hstep)
    uc = np.empty(d, dtype=np.complex128)  # complex-step work space, once per chunk
    for i in range(start, stop):
        u = U[i]
        x = T(u, *targs)
        copy_row(x, X, i)
        if W[i] != 0.0:
            if finite_row(X, i):
                W[i] *= how(T, D, u, x, targs, dargs, h, J[i % J.shape[0]], uc)
            else:
                W[i] = np.nan
    return 0


@cached_njit
def finite_row(X, i):
    for k in range(X.shape[1]):
        if not np.isfinite(X[i, k]):
            return False
    return True


@cached_njit(nogil=True)
def det_rows(J, W, start, stop):
    """W[i] *= |det J[i]| where W[i] != 0 and not NaN (J is overwritten)."""
    piv = np.empty(J.shape[1], np.int64)
    for i in range(start, stop):
        if W[i] != 0.0 and not np.isnan(W[i]):
            W[i] *= abs_det(J[i], piv)
    return 0


@nogil_kernel
def integrand_points(fun, fargs, X, W, out, start, stop):
    """out[i] = fun(X[i]) * W[i]; fun is not called where W[i] == 0."""
    for i in range(start, stop):
        w = W[i]
        out[i] = fun(X[i], *fargs) * w if w != 0.0 else 0.0
    return 0


@cached_njit(nogil=True)
def integrand_addressed(fargs, X, W, out, start, stop):
    """:data:`integrand_points` for f reached through its scalar adapter:
    fargs = (p, rc, rj, cc, cj) (see :func:`scalar_call`)."""
    p, rc, rj, cc, cj = fargs
    for i in range(start, stop):
        w = W[i]
        out[i] = scalar_call(X[i], p, rc, rj, cc, cj) * w if w != 0.0 else 0.0
    return 0


@cached_njit
def det_call(u, p, rc, rj, cc, cj):
    """A user's analytic |det J_T| at u through its scalar adapter."""
    return scalar_call(u, p, rc, rj, cc, cj)


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


# ----------------------------------------------------------- cached wrappers
_BOUND: dict = {}
_BOUND_NAMES: dict = {}
_INLINED: dict = {}


def _inlined(kernel):
    """``kernel`` compiled inline into its caller (numba's ``inline="always"``).

    A bound wrapper inlines its kernel and the kernels among its functions, so
    that the functions are only ever called, never passed on as values: numba
    stores a function passed on as a value as the address of the Python
    object, which it cannot cache.
    """
    found = _INLINED.get(kernel)
    if found is None:
        found = _INLINED[kernel] = numba.njit(inline="always", **NUMBA_OPTIONS)(kernel.py_func)
    return found


def bound_kernel(kernel, *funcs, nogil: bool = True):
    """``kernel`` with its leading function parameters bound to ``funcs``: a cached wrapper.

    ``funcs`` are module-level compiled functions (jacsolve's region maps,
    :func:`jacsolve._numba.tiers.address_call`, :func:`scalar_call`, or
    wrappers made here), so the
    wrapper, generated as ``kernel__<names of funcs>(<the other parameters>)``
    and compiled under this module's file name, is cached by numba and loads
    from its cache in later processes. ``kernel`` may itself be a plain
    compiled function that takes functions first (see ``regions``). Like
    every numba cache, the wrapper's is keyed on this file only: clear
    ``NUMBA_CACHE_DIR`` after editing the compiled functions of ``regions``.
    """
    key = (kernel,) + funcs
    found = _BOUND.get(key)
    if found is not None:
        return found
    f = kernel.py_func
    params = list(inspect.signature(f).parameters)[len(funcs):]
    name = "__".join([f.__name__] + [g.py_func.__name__ if hasattr(g, "py_func")
                                     else g.__name__ for g in funcs])
    if len(name) > 80:   # nested regions: keep cache file names short
        name = f"{f.__name__}__{hashlib.sha1(name.encode()).hexdigest()[:16]}"
    if _BOUND_NAMES.setdefault(name, key) != key:
        raise RuntimeError(f"two bound kernels share the name {name}")
    rest = ", ".join(params)
    bound = ", ".join(f"_f{k}" for k in range(len(funcs)))
    src = f"def {name}({rest}):\n    return _kernel({bound}, {rest})\n"
    namespace = {"_kernel": _inlined(kernel)}
    namespace.update({f"_f{k}": _inlined(g) if getattr(g, "_jacsolve_kernel", False) else g
                      for k, g in enumerate(funcs)})
    found = _BOUND[key] = generated(src, name, namespace, __name__, __file__, name, nogil=nogil)
    return found


# --------------------------------------------------------- scalar adapters
def adapter(fun, kind: str, layout, value: str, complex_input: bool, name: str,
            argument: str = "vector") -> tuple:
    """(c_addr, jit_addr) of a scalar adapter of ``fun`` (made once per function and kind).

    The adapter ``adapter(x, p)`` returns ``value`` (source that calls
    ``_fun``, with the args unpacked from p by ``layout``), converted to
    float64 or complex128 (a constant curve may return a real number for
    complex input; an integer becomes a float), with the signature
    ``SCALAR_SIGNATURES[argument, complex_input]``. ``kind`` names it
    ("integrand", "det", "curve", "surface", "indicator"); ``name`` is the
    caller's name of ``fun`` in errors.
    """
    rec = prepare(fun)
    key = (kind, layout, complex_input)
    found = rec.specialised.get(key)
    if found is None:
        cast = "np.complex128" if complex_input else "np.float64"
        src = f"def adapter(x, p):\n    return {cast}({value})\n"
        dispatcher = rec.compile_generated(src, {"np": np, "_fun": fun}, "adapter", key)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
                c_addr, jit_addr = addresses_of(
                    dispatcher, SCALAR_SIGNATURES[argument, complex_input])
        except Exception as exc:  # numba's typing errors: a short reason
            if complex_input:
                raise not_complex_safe(name, detail=complex_failure_reason(str(exc)),
                                       instead="Use det='analytic' or 'central' instead"
                                       ) from None
            raise TypeError(f"{name} could not be compiled for float64 input: "
                            f"{complex_failure_reason(str(exc))}") from None
        found = rec.specialised[key] = (c_addr, jit_addr, dispatcher)  # keeps it alive
    return found[:2]


def no_complex(argument: str = "vector") -> tuple:
    """Addresses of a function that raises, for a complex slot a kernel never uses."""
    return stand_in(SCALAR_SIGNATURES[argument, True])


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


def run_tier(kernel, funcs: tuple, tier: str, n: int, *args) -> None:
    """``kernel(*funcs, *args, start, stop)`` over [0, n) on ``tier``.

    ``"cached"``: the cached wrapper of :func:`bound_kernel`; ``"specialised"``:
    the kernel compiled with ``funcs`` as dispatcher arguments; ``"python"``:
    its Python version (kernels among ``funcs`` too).
    """
    if tier == "cached":
        run_chunked(bound_kernel(kernel, *funcs), True, n, *args)
    elif tier == "specialised":
        run_chunked(kernel, True, n, *funcs, *args)
    else:
        funcs = tuple(python_version(g) if getattr(g, "_jacsolve_kernel", False) else g
                      for g in funcs)
        run_chunked(kernel, False, n, *funcs, *args)


def map_and_det(T, D, targs, dargs, det: str, tier: str, U, W):
    """X = T(U) and W *= |det J_T(U)| by ``det`` ("analytic", "complex", "central")."""
    n, d = U.shape
    how, hstep = _HOW[det]
    X = np.empty_like(U)
    J = np.empty((n, d, d) if det != "analytic" else (1, 1, 1))
    run_tier(map_points, (T, D, how), tier, n, targs, dargs, U, X, W, J, hstep)
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


def kronecker_points(n: int, d: int) -> np.ndarray:
    """n points of the R_d low-discrepancy sequence in [0, 1)^d (Roberts 2018).

    frac(1/2 + i alpha) with alpha_k = phi_d^-(k+1), phi_d the root > 1 of
    x^(d+1) = x + 1: an even spread of points without importing SciPy's QMC
    module (about 0.6 s), for sampling a map's image.
    """
    phi = 2.0
    for _ in range(64):
        phi = (1.0 + phi) ** (1.0 / (d + 1))
    alpha = phi ** -np.arange(1.0, d + 1.0)
    return (0.5 + np.arange(1, n + 1)[:, None] * alpha[None, :]) % 1.0


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

