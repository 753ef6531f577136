"""Deterministic chain-ladder and Mack (1993) standard errors.

Names follow chainladder-python (``ldf_``, ``cdf_``, ``ultimate_``, ``ibnr_``, ``sigma_``,
``std_err_``, ``mack_std_err_``, ``total_mack_std_err_``): estimators keep their parameters
from ``__init__``, and only what ``fit`` learns ends in ``_``. Fitted attributes keep their
labels: per-origin results are ``pandas.Series`` indexed by ``origin`` (the triangle's labels,
``"2014-01"``), factors are indexed by ``development`` (``"1-2"`` age to age, ``"1-Ult"`` to
ultimate), whole triangles are ``DataFrame``s (origin x development); totals are floats.
Development factors are volume-weighted over all origins; there is no tail (the last lag is
taken as ultimate).

Mack's standard errors are computed with the recursive form chainladder-python uses (algebraically
Mack's 1993 formulas): for origin ``i`` and future lag ``k``

    process_{k+1}^2   = C_{ik} sigma_k^2 + f_k^2 process_k^2
    parameter_{k+1}^2 = (C_{ik} s.e.(f_k))^2 + f_k^2 parameter_k^2

and for the total, the parameter recursion runs on the sum over origins of the latest and
projected cumulatives at each lag, while process variances add.

The last ``sigma`` (a lag pair seen in a single origin) is extrapolated either log-linearly
(a weighted least-squares line through ``log sigma`` against the lag index, the default, as in
chainladder-python) or as Mack (1993) did, ``sigma_{n-1}^2 = min(sigma_{n-2}^4 / sigma_{n-3}^2,
sigma_{n-3}^2, sigma_{n-2}^2)``.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .triangle import Triangle

__all__ = ["Chainladder", "MackChainladder", "volume_ldf", "fitted_incremental", "origin_weight",
           "origin_index", "by_origin", "as_frame"]


def volume_ldf(values: np.ndarray, n_observed: np.ndarray) -> np.ndarray:
    """Volume-weighted age-to-age factors.

    Parameters
    ----------
    values : ndarray(float64, (n_origin, n_dev))
        Cumulative triangle, NaN in the future.
    n_observed : ndarray(int64, (n_origin,))
        Number of observed lags per origin.

    Returns
    -------
    ndarray(float64, (n_dev - 1,)) [1]
    """
    n_d = values.shape[1]
    num = np.zeros(n_d - 1)
    den = np.zeros(n_d - 1)
    for j in range(n_d - 1):
        rows = n_observed > j + 1
        num[j] = values[rows, j + 1].sum()
        den[j] = values[rows, j].sum()
    return num / den


def origin_index(tri: Triangle) -> pd.Index:
    """The triangle's origin labels as a pandas Index named ``origin``."""
    return pd.Index(list(tri.origin), name="origin")


def _development_index(tri: Triangle) -> pd.Index:
    return pd.Index(np.asarray(tri.development), name="development")


def _age_to_age_index(tri: Triangle) -> pd.Index:
    d = [str(x) for x in tri.development]
    return pd.Index([f"{a}-{b}" for a, b in zip(d[:-1], d[1:])], name="development")


def _to_ultimate_index(tri: Triangle) -> pd.Index:
    return pd.Index([f"{a}-Ult" for a in map(str, tri.development[:-1])], name="development")


def by_origin(values, tri: Triangle, name: str) -> pd.Series:
    """``values`` (n_origin,) as a Series indexed by the triangle's origins."""
    return pd.Series(np.asarray(values, dtype=np.float64), index=origin_index(tri), name=name)


def as_frame(values, tri: Triangle) -> pd.DataFrame:
    """``values`` (n_origin, n_dev) as a DataFrame, origin x development."""
    return pd.DataFrame(np.asarray(values, dtype=np.float64), index=origin_index(tri),
                        columns=_development_index(tri))


def _cdf(ldf: np.ndarray) -> np.ndarray:
    """Cumulative factors to ultimate from each lag, length n_dev (last is 1)."""
    return np.append(np.cumprod(ldf[::-1])[::-1], 1.0)


def fitted_incremental(tri: Triangle, ldf: np.ndarray | None = None) -> np.ndarray:
    """Fitted incrementals of the upper triangle by backward recursion (England & Verrall 2002).

    Fitted cumulatives end at the latest diagonal and are divided back by the factors:
    ``m_{i,j} = m_{i,j+1} / f_j``; incrementals are their differences. NaN in the future.

    Returns
    -------
    ndarray(float64, (n_origin, n_dev))
    """
    ldf = volume_ldf(tri.values, tri.n_observed) if ldf is None else np.asarray(ldf, dtype=np.float64)
    n_o, n_d = tri.shape
    m = np.full((n_o, n_d), np.nan)
    for i in range(n_o):
        L = tri.n_observed[i]
        m[i, L - 1] = tri.values[i, L - 1]
        for j in range(L - 2, -1, -1):
            m[i, j] = m[i, j + 1] / ldf[j]
    return np.diff(m, axis=1, prepend=0.0)


class Chainladder:
    """Volume-weighted chain-ladder.

    Attributes (after ``fit``)
    --------------------------
    triangle_ : Triangle
        The triangle fitted.
    ldf_ : pandas.Series(float64, (n_dev - 1,)) [1]
        Age-to-age factors, indexed by ``development`` ``"1-2"``, ``"2-3"``, ...
    cdf_ : pandas.Series(float64, (n_dev - 1,)) [1]
        Factors from each lag to ultimate (chainladder-python's ``cdf_``), ``"1-Ult"``, ...
    latest_diagonal_, ultimate_ : pandas.Series(float64, (n_origin,))
        Indexed by ``origin``.
    ibnr_ : pandas.Series(float64, (n_origin,))
        ``ultimate_ - latest_diagonal_``.
    ibnr_total_ : float
    full_triangle_ : pandas.DataFrame(float64, (n_origin, n_dev))
        Observed cumulatives completed by the factors, origin x development.
    """

    def fit(self, tri: Triangle) -> "Chainladder":
        v, L = tri.values, tri.n_observed
        self.triangle_ = tri
        ldf = volume_ldf(v, L)
        cdf = _cdf(ldf)
        latest = tri.latest_diagonal
        full = np.array(v, copy=True)
        n_o, n_d = v.shape
        for i in range(n_o):
            for j in range(L[i], n_d):
                full[i, j] = full[i, j - 1] * ldf[j - 1]
        ultimate = latest * cdf[L - 1]
        self.ldf_ = pd.Series(ldf, index=_age_to_age_index(tri), name="ldf")
        self.cdf_ = pd.Series(cdf[:-1], index=_to_ultimate_index(tri), name="cdf")
        self.latest_diagonal_ = by_origin(latest, tri, "latest_diagonal")
        self.full_triangle_ = as_frame(full, tri)
        self.ultimate_ = by_origin(ultimate, tri, "ultimate")
        self.ibnr_ = by_origin(ultimate - latest, tri, "ibnr")
        self.ibnr_total_ = float(self.ibnr_.sum())
        return self

    def completion_factor(self, origins=None) -> float:
        """Completion factor [1]: ultimate / latest, each summed over ``origins`` (None: every
        origin; a string: the labels starting with it; otherwise labels; see
        :func:`origin_weight`)."""
        w = origin_weight(self.triangle_.origin, origins)
        return float(np.sum(self.ultimate_.to_numpy() * w) / np.sum(self.latest_diagonal_.to_numpy() * w))


class MackChainladder(Chainladder):
    """Chain-ladder with Mack (1993) standard errors.

    Parameters
    ----------
    sigma_interpolation : {"log-linear", "mack"}
        How to extrapolate ``sigma`` where a lag pair is seen in one origin only.

    Attributes (after ``fit``, besides :class:`Chainladder`'s)
    -----------------------------------------------------------
    sigma_ : pandas.Series(float64, (n_dev - 1,))
        Indexed like ``ldf_``.
    std_err_ : pandas.Series(float64, (n_dev - 1,)) [1]
        Standard errors of the factors, indexed like ``ldf_``.
    process_risk_, parameter_risk_ : pandas.Series(float64, (n_origin,))
        By origin, at ultimate (same units as the triangle).
    mack_std_err_ : pandas.Series(float64, (n_origin,))
        Mack prediction error of each origin's reserve.
    full_std_err_ : pandas.Series(float64, (n_origin,))
        Alias of ``mack_std_err_`` (per-origin prediction error).
    total_process_risk_, total_parameter_risk_, total_mack_std_err_ : float
    """

    def __init__(self, sigma_interpolation: Literal["log-linear", "mack"] = "log-linear"):
        if sigma_interpolation not in ("log-linear", "mack"):
            raise ValueError("sigma_interpolation must be 'log-linear' or 'mack', "
                             f"not {sigma_interpolation!r}")
        self.sigma_interpolation = sigma_interpolation

    def fit(self, tri: Triangle) -> "MackChainladder":
        super().fit(tri)
        v, L = tri.values, tri.n_observed
        n_o, n_d = v.shape
        f = self.ldf_.to_numpy()
        sigma = np.full(n_d - 1, np.nan)
        den = np.zeros(n_d - 1)
        for j in range(n_d - 1):
            rows = L > j + 1
            x, y = v[rows, j], v[rows, j + 1]
            den[j] = x.sum()
            if rows.sum() > 1:
                sigma[j] = np.sqrt(np.sum((y - f[j] * x) ** 2 / x) / (rows.sum() - 1))
        sigma = self._fill_sigma(sigma)
        std_err = sigma / np.sqrt(den)
        self.sigma_ = pd.Series(sigma, index=self.ldf_.index, name="sigma")
        self.std_err_ = pd.Series(std_err, index=self.ldf_.index, name="std_err")
        full = self.full_triangle_.to_numpy()
        proc = np.zeros(n_o)
        par = np.zeros(n_o)
        for i in range(n_o):
            for k in range(L[i] - 1, n_d - 1):
                c = full[i, k]
                proc[i] = np.sqrt(c * sigma[k] ** 2 + (f[k] * proc[i]) ** 2)
                par[i] = np.sqrt((c * std_err[k]) ** 2 + (f[k] * par[i]) ** 2)
        tpar = 0.0
        for k in range(n_d - 1):
            rows = L - 1 <= k
            c = full[rows, k].sum()
            tpar = np.sqrt((c * std_err[k]) ** 2 + (f[k] * tpar) ** 2)
        self.process_risk_ = by_origin(proc, tri, "process_risk")
        self.parameter_risk_ = by_origin(par, tri, "parameter_risk")
        self.mack_std_err_ = by_origin(np.sqrt(proc ** 2 + par ** 2), tri, "mack_std_err")
        self.full_std_err_ = self.mack_std_err_
        self.total_process_risk_ = float(np.sqrt(np.sum(proc ** 2)))
        self.total_parameter_risk_ = float(tpar)
        self.total_mack_std_err_ = float(np.sqrt(self.total_process_risk_ ** 2 + tpar ** 2))
        return self

    def _fill_sigma(self, sigma: np.ndarray) -> np.ndarray:
        ok = np.isfinite(sigma)
        if ok.all():
            return sigma
        out = sigma.copy()
        if self.sigma_interpolation == "log-linear":
            x = np.arange(1, sigma.size + 1, dtype=np.float64)
            ly = np.log(np.where(sigma[ok] == 0, 1e-320, sigma[ok]))
            xm, ym = x[ok].mean(), ly.mean()
            slope = np.sum((x[ok] - xm) * (ly - ym)) / np.sum((x[ok] - xm) ** 2)
            out[~ok] = np.exp(ym + slope * (x[~ok] - xm))
        else:
            s = np.where(sigma == 0, 1e-320, sigma)
            for k in np.flatnonzero(~ok):
                if k >= 2 and ok[k - 1] and ok[k - 2]:
                    a, b = s[k - 2], s[k - 1]
                    out[k] = np.sqrt(abs(min(b ** 4 / a ** 2, min(a ** 2, b ** 2))))
                else:
                    out[k] = 0.0
        return out


def origin_weight(labels, origins) -> np.ndarray:
    """0/1 weight per origin label, ndarray(float64, (n_origin,)).

    ``origins``: None (every origin), a string (the labels starting with it, e.g. ``"2014"``
    for the months of 2014) or an iterable of labels.

    Raises
    ------
    ValueError
        An unknown label, or nothing selected.
    """
    labels = list(labels)
    if origins is None:
        return np.ones(len(labels))
    if isinstance(origins, str):
        w = np.array([lab.startswith(origins) for lab in labels], dtype=np.float64)
    else:
        wanted = {str(o) for o in origins}
        unknown = wanted - set(labels)
        if unknown:
            raise ValueError(f"unknown origins {sorted(unknown)}; triangle has {labels}")
        w = np.array([lab in wanted for lab in labels], dtype=np.float64)
    if not w.any():
        raise ValueError(f"no origin matches {origins!r}; triangle has {labels}")
    return w
