"""The second-order law of propagation of uncertainty (GUM 5.1.2 note, generalised).

For normal inputs the output covariance to fourth order in the input
uncertainties is::

    Cov(y_a, y_b) = c_a^T V c_b + tr(H_a V H_b V) / 2
                    + [(V c_a) . grad tr(H_b V) + (V c_b) . grad tr(H_a V)] / 2

and the bias of the mean is ``tr(H V) / 2``. The terms are computed in
whitened coordinates ``x = x0 + L z`` with ``L L^T = V_x`` (``z`` standard
normal): ``L`` is built from the correlation matrix, so each step is a
fraction of the inputs' uncertainties (never of ``|x|``, which fails for
estimates at 0), and inputs with zero uncertainty cost nothing. Jacobians at
``x +- h L_r`` (:func:`second_order_points`) give, per output, the whitened
Hessian ``L^T H L`` (first differences) and the gradient of ``tr(H V_x)``
(second differences): the Hessian and third-derivative terms together for
all outputs (:func:`second_order_terms`), at ``2 r n`` evaluations for ``r``
uncertain directions.
"""
from __future__ import annotations

import warnings

import numpy as np

from .inputs import PSD_TOL

__all__ = ["second_order_points", "second_order_terms", "SECOND_ORDER_STEP"]

# along whitened directions: Jacobians exact to rounding (complex) or to ~1e-12
# (richardson) allow short steps; central's ~1e-7 relative error needs longer ones
SECOND_ORDER_STEP = {"complex": 1e-2, "richardson": 1e-2, "central": 1e-1}


def second_order_points(x, u, V, jac_mode):
    """Whitening L (n, r) with L L^T = V, columns scaled by u (steps along them are
    fractions of u), and the points x +- h L_r (rows 2r and 2r + 1) of the second-order
    terms."""
    pos = np.flatnonzero(u > 0)
    n = u.size
    if V is None:
        L = np.zeros((n, pos.size))
        L[pos, np.arange(pos.size)] = u[pos]
    else:
        up = u[pos]
        lam, Q = np.linalg.eigh(V[np.ix_(pos, pos)] / np.outer(up, up))
        keep = lam > PSD_TOL * max(lam[-1], 1.0)
        L = np.zeros((n, int(keep.sum())))
        L[pos] = up[:, None] * Q[:, keep] * np.sqrt(lam[keep])
    h = SECOND_ORDER_STEP[jac_mode]
    P = np.empty((2 * L.shape[1], n))
    P[0::2] = x + h * L.T
    P[1::2] = x - h * L.T
    return L, P


def second_order_terms(Jt, L, u, V, h):
    """Second-order terms for all outputs from the Jacobians Jt[0] at x and
    Jt[2r + 1], Jt[2r + 2] at x +- h L_r (see propagate's Notes).

    Returns (bias (m,), C2 (m, m), C3 (m, m), a2 (m, n), a3 (m, n)); a2, a3 are
    the Hessian and third-derivative parts of a_i.
    """
    J = Jt[0].T
    m, n = J.shape
    r = L.shape[1]
    if r == 0:
        z = np.zeros((m, m))
        return np.zeros(m), z, z, np.zeros((m, n)), np.zeros((m, n))
    Jp = Jt[1::2].transpose(0, 2, 1)     # (r, m, n)
    Jm = Jt[2::2].transpose(0, 2, 1)
    if not (np.all(np.isfinite(Jp)) and np.all(np.isfinite(Jm))):
        warnings.warn("fun is not finite within a fraction of u of x; the second-order terms "
                      "are NaN", RuntimeWarning, stacklevel=3)
    A = (Jp - Jm) / (2 * h)              # A[r, i] = (H_i L_r)^T
    B = (Jp - 2 * J + Jm) / (h * h)      # B[r, i] = grad (L_r^T H_i L_r)
    Ht = np.einsum("js,rij->isr", L, A)  # whitened Hessians L^T H_i L
    Ht = 0.5 * (Ht + Ht.transpose(0, 2, 1))
    bias = 0.5 * np.trace(Ht, axis1=1, axis2=2)
    C2 = 0.5 * np.einsum("asr,brs->ab", Ht, Ht)
    d = B.sum(axis=0)                    # grad tr(H_i V), (m, n)
    Vc = J @ V if V is not None else J * (u * u)
    C3 = 0.5 * (Vc @ d.T + d @ Vc.T)
    # a_k = u_k^2 d(var)/d(u_k^2): Hessian part (H V H V)_kk ...
    VH = np.einsum("rij,kr->ikj", A, L)      # (m, n, n): V H_i
    a2 = np.einsum("ikq,iqk->ik", VH, VH)
    # ... and, for independent inputs, the third-derivative part c_k u_k^2 d_k + (V c).B_k
    a3 = np.zeros((m, n))
    if V is None:
        pos = np.flatnonzero(u > 0)
        a3 = J * (u * u) * d
        a3[:, pos] += np.einsum("in,rin->ir", Vc, B)
    return bias, C2, C3, a2, a3
