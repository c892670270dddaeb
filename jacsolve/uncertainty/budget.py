"""Reporting an uncertainty: the budget, effective degrees of freedom, coverage factors.

* :class:`Budget` / :class:`BudgetEntry`: each input's sensitivity,
  contribution and share of u(y)^2, per output (GUM 8; JCGM 100 table layout).
* :func:`effective_dof`: Welch--Satterthwaite effective degrees of freedom
  (GUM G.4.1), generalised to correlated inputs and second-order terms.
* :func:`coverage_factor`: k = t_p(nu_eff), nu_eff truncated to an integer
  by default (GUM G.3, G.6.4).
* :func:`check_p`: the one check of a coverage probability.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Budget", "BudgetEntry", "coverage_factor", "effective_dof", "check_p"]


def check_p(p) -> float:
    """A coverage probability ``p`` in (0, 1) as a float, or a ValueError."""
    if (isinstance(p, bool) or not isinstance(p, (numbers.Real, np.floating, np.integer))
            or not 0.0 < p < 1.0):
        raise ValueError(f"p must be a probability (p must lie in (0, 1)), got {p!r}")
    return float(p)


def coverage_factor(p: float, dof, truncate_dof: bool = True) -> np.ndarray | float:
    """k = t_p(dof): the two-sided Student t quantile ((1 + p) / 2); normal for dof = inf.

    With ``truncate_dof`` (the default, GUM G.6.4) a non-integer ``dof`` (an
    effective nu_eff) is first truncated to the next lower integer, as the GUM
    does to read its t table (GUM H.1.6: nu_eff = 16.7 -> 16, k_99 = 2.92);
    ``dof`` below 1 is used as it is. ``truncate_dof=False`` evaluates the t
    quantile at the fractional ``dof``, a slightly smaller k.

    Examples
    --------
    >>> from jacsolve.uncertainty import coverage_factor
    >>> round(coverage_factor(0.99, 16.7), 2), round(coverage_factor(0.99, 16.7, False), 2)
    (2.92, 2.9)
    """
    q = 0.5 * (1.0 + check_p(p))
    from scipy import stats  # imported here: it takes about a second to import

    d = np.asarray(dof, dtype=float)
    if truncate_dof:
        d = np.where(np.isfinite(d) & (d >= 1.0), np.floor(d), d)
    k = np.where(np.isinf(d), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(d), 1.0, d)))
    return float(k) if k.ndim == 0 else k


@dataclass(frozen=True)
class BudgetEntry:
    """One input's line in the budget of one output.

    Attributes
    ----------
    name : str
    estimate : float
        The input estimate x_i.
    std : float
        Its standard uncertainty u(x_i).
    dof : float
        Its degrees of freedom (inf when its variance is known exactly).
    sensitivity : float
        c_i = df/dx_i.
    contribution : float
        |c_i| u(x_i), the first-order uncertainty contribution.
    share : float
        (c_i u(x_i))^2 / u(y)^2.
    """
    name: str
    estimate: float
    std: float
    dof: float
    sensitivity: float
    contribution: float
    share: float


@dataclass(frozen=True)
class Budget:
    """Uncertainty budget: per output, each input's sensitivity, contribution and share.

    For each output the shares, plus ``correlation_share`` (the cross terms
    ``sum_{i != j} c_i c_j V_ij``) and ``second_order_share`` (the second-order
    variance terms, zero for the linear method), add up to 1.

    Attributes
    ----------
    names, output_names : tuple of str
    estimate, std, input_dof : ndarray, shape (n,)
        Input estimates, standard uncertainties, degrees of freedom.
    value, output_std, dof : ndarray, shape (m,)
        Output estimates, u(y), effective degrees of freedom.
    sensitivity, contribution, share : ndarray, shape (m, n)
    correlation_share, second_order_share : ndarray, shape (m,)
    """
    names: tuple
    output_names: tuple
    estimate: np.ndarray
    std: np.ndarray
    input_dof: np.ndarray
    value: np.ndarray
    output_std: np.ndarray
    dof: np.ndarray
    sensitivity: np.ndarray
    contribution: np.ndarray
    share: np.ndarray
    correlation_share: np.ndarray
    second_order_share: np.ndarray

    def entries(self, output: int = 0) -> list:
        """The budget of one output as a list of :class:`BudgetEntry`."""
        i = self._output(output)
        return [BudgetEntry(self.names[j], float(self.estimate[j]), float(self.std[j]),
                            float(self.input_dof[j]), float(self.sensitivity[i, j]),
                            float(self.contribution[i, j]), float(self.share[i, j]))
                for j in range(len(self.names))]

    def _output(self, output) -> int:
        if isinstance(output, str):
            if output not in self.output_names:
                raise ValueError(f"unknown output {output!r}; outputs are {self.output_names}")
            return self.output_names.index(output)
        m = len(self.output_names)
        if not (-m <= int(output) < m):
            raise IndexError(f"output {output} out of range for {m} outputs")
        return int(output) % m

    def table(self, output=None) -> str:
        """The budget as a text table (all outputs when ``output`` is None)."""
        outs = range(len(self.output_names)) if output is None else [self._output(output)]
        return "\n\n".join(self._table(i) for i in outs)

    def _table(self, i: int) -> str:
        def g(v):
            return f"{v:.6g}"
        dof = self.dof[i]
        head = (f"{self.output_names[i]} = {g(self.value[i])}, u = {g(self.output_std[i])}, "
                f"nu_eff = {'inf' if np.isinf(dof) else f'{dof:.3g}'}")
        rows = [("input", "estimate", "u(x_i)", "dof", "c_i", "|c_i| u(x_i)", "share")]
        for e in self.entries(i):
            rows.append((e.name, g(e.estimate), g(e.std),
                         "inf" if np.isinf(e.dof) else f"{e.dof:.3g}",
                         g(e.sensitivity), g(e.contribution), f"{100 * e.share:.2f} %"))
        if self.correlation_share[i] != 0:
            rows.append(("correlations", "", "", "", "", "",
                         f"{100 * self.correlation_share[i]:.2f} %"))
        if self.second_order_share[i] != 0:
            rows.append(("second order", "", "", "", "", "",
                         f"{100 * self.second_order_share[i]:.2f} %"))
        rows.append(("total", "", "", "", "", g(self.output_std[i]), "100.00 %"))
        widths = [max(len(r[c]) for r in rows) for c in range(7)]
        lines = [head] + ["  ".join(r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c])
                                    for c in range(7)) for r in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"Budget({len(self.names)} inputs, {len(self.output_names)} outputs; "
                "print it or call .table() for the table)")


def effective_dof(J, u, V, nu, var, a_extra):
    """nu_eff = u(y)^4 / sum_i a_i^2 / nu_i per output (see :func:`jacsolve.propagate`'s Notes).

    J (m, n) are the sensitivities, u and V (None: independent) the input
    uncertainty, nu the input degrees of freedom (None: all infinite), var
    u(y)^2, a_extra (m, n) the second-order parts of a_i (or None).
    """
    m = J.shape[0]
    if nu is None:
        return np.full(m, np.inf)
    a = J * (J @ V) if V is not None else J * J * (u * u)
    if a_extra is not None:
        a = a + a_extra
    finite = np.isfinite(nu)
    den = (a[:, finite] ** 2 / nu[finite]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, var * var / np.where(den > 0, den, 1.0), np.inf)
    return out
