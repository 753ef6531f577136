"""Risk measures of the fund's balance (net assets and months of claims), with Monte Carlo standard errors.

Pure functions of a Dataset with ``net_assets`` and ``months_of_claims`` (sim, year, compartment), as
:func:`jkn_risk.outputs.fund_dataset` labels them.

Conventions
-----------
* *Months of claims* ``= 12 x net assets at year end / medical cost of that same year``; the fund health
  indicator (PP 84/2015) asks for at least 1.5 and at most 6 months.
* *Depletion* is the first year whose year-end net assets are negative, even if the fund recovers later;
  a simulation whose net assets never go negative is "not within the horizon".
* The *loss* of a year-end balance is ``L = -net_assets`` [IDR]. ``VaR_a = L_(ceil(n a))``, the order statistic
  (so ``VaR_0.995`` is minus the 0.5% quantile of the balance: in the worst 0.5% of simulations the fund ends the
  year at least ``VaR`` in the red; a negative VaR means it still holds ``-VaR`` there), and
  ``TVaR_a = VaR_a + E[(L - VaR_a)^+] / (1 - a)``, the mean loss of the worst ``1 - a`` (as in
  :mod:`jkn_risk.report.metrics`).
* Standard errors: a probability ``p`` from ``n`` simulations has ``sqrt(p (1 - p) / n)``. VaR uses the
  order-statistic (binomial) method: the rank of the a-quantile among ``n`` draws has binomial standard deviation
  ``d = sqrt(n a (1 - a))``, so ``SE(VaR) = d x (L_(k_hi) - L_(k_lo)) / (k_hi - k_lo)`` with
  ``k = n a -/+ d`` (the slope of the empirical quantile function, i.e. ``1 / (n f(q))``, times ``d``).
  TVaR uses the asymptotic formula ``SE = sd((L - VaR)^+) / ((1 - a) sqrt(n))`` (the influence function of the
  Rockafellar-Uryasev estimator).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from .metrics import TOTAL, var_tvar

MIN_MONTHS, MAX_MONTHS = 1.5, 6.0
LEVEL = 0.995
NOT_WITHIN = "not within horizon"

__all__ = ["MIN_MONTHS", "MAX_MONTHS", "LEVEL", "NOT_WITHIN", "fund_series", "first_depletion_year",
           "quantile_se", "tvar_se", "fund_risk_measures", "fund_measures_frame"]


def fund_series(ds: xr.Dataset, compartment: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Net assets and months of claims of one compartment, or of the whole fund.

    Parameters
    ----------
    ds : xr.Dataset
        ``net_assets`` and ``months_of_claims`` (sim, year, compartment); for the whole fund of several
        compartments also ``fund_medical_cost`` (same dims) [IDR].
    compartment : str, optional
        A compartment label or ``"total"``; default: the only compartment, else ``"total"``.

    Returns
    -------
    net : ndarray(float64, (n_sim, Y)) [IDR]
    months : ndarray(float64, (n_sim, Y)) [month]
    label : str
    """
    comps = [str(c) for c in ds["compartment"].values]
    if compartment is None:
        compartment = comps[0] if len(comps) == 1 else TOTAL
    order = ("sim", "year", "compartment")
    net_c = ds["net_assets"].transpose(*order).values.astype(np.float64)
    if compartment != TOTAL or len(comps) == 1:
        i = comps.index(compartment) if compartment != TOTAL else 0
        months = ds["months_of_claims"].transpose(*order).values[:, :, i]
        return net_c[:, :, i], months.astype(np.float64), compartment
    if "fund_medical_cost" not in ds:
        raise ValueError("the whole fund's months of claims need 'fund_medical_cost' in the dataset")
    net = net_c.sum(axis=-1)
    med = ds["fund_medical_cost"].transpose(*order).values.astype(np.float64).sum(axis=-1)
    months = np.full(net.shape, np.nan)
    np.divide(12.0 * net, med, out=months, where=med != 0)
    return net, months, TOTAL


def first_depletion_year(net_assets: np.ndarray) -> np.ndarray:
    """Index of the first year with negative net assets per simulation, ``Y`` if none.

    Parameters
    ----------
    net_assets : ndarray (n_sim, Y) [IDR]

    Returns
    -------
    ndarray(int64, (n_sim,)) in ``0..Y``
    """
    neg = np.asarray(net_assets) < 0
    return np.where(neg.any(axis=1), neg.argmax(axis=1), neg.shape[1]).astype(np.int64)


def quantile_se(x: np.ndarray, level: float) -> np.ndarray:
    """Order-statistic (binomial) standard error of the ``L_(ceil(n a))`` quantile estimator.

    Parameters
    ----------
    x : ndarray(float64, (..., n))
        Samples along the last axis.
    level : float
        ``a`` in (0, 1).

    Returns
    -------
    ndarray(float64, (...)); NaN when ``n a (1 - a) < 1`` (too few draws beyond the quantile).
    """
    n = x.shape[-1]
    d = math.sqrt(n * level * (1 - level))
    if d < 1:
        return np.full(x.shape[:-1], np.nan)
    lo = max(math.floor(n * level - d), 1)
    hi = min(math.ceil(n * level + d), n)
    part = np.partition(x, [lo - 1, hi - 1], axis=-1)
    return d * (part[..., hi - 1] - part[..., lo - 1]) / (hi - lo)


def tvar_se(loss: np.ndarray, var: np.ndarray, level: float) -> np.ndarray:
    """Asymptotic standard error of TVaR: ``sd((L - VaR)^+) / ((1 - a) sqrt(n))``.

    Parameters
    ----------
    loss : ndarray(float64, (..., n)) [IDR]
    var : ndarray(float64, (...)) [IDR], the VaR estimate
    level : float
    """
    excess = np.maximum(loss - var[..., None], 0.0)
    return excess.std(axis=-1, ddof=1) / ((1 - level) * math.sqrt(loss.shape[-1]))


def _p_se(hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = hits.mean(axis=0)
    return p, np.sqrt(p * (1 - p) / hits.shape[0])


def _floats(a) -> list:
    """JSON-ready: a list of floats with NaN and infinities as None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).ravel()]


def fund_risk_measures(ds: xr.Dataset, compartment: str | None = None, level: float = LEVEL) -> dict:
    """Solvency measures of the fund's balance per year, with Monte Carlo standard errors.

    Parameters
    ----------
    ds : xr.Dataset
        See :func:`fund_series`.
    compartment : str, optional
        A compartment, or ``"total"`` (default when there are several).
    level : float
        VaR / TVaR confidence level.

    Returns
    -------
    dict, JSON-ready (NaN as None)
        ``compartment``, ``n_sims``, ``years`` (list of int), ``level``; per year (lists of length Y):
        ``p_negative`` / ``_se`` (net assets < 0), ``p_months_below_1_5`` / ``_se`` (months of claims < 1.5),
        ``p_months_above_6`` / ``_se`` (> 6), ``p_depleted_by`` / ``_se`` (negative at least once by that year
        end), ``var`` / ``var_se`` and ``tvar`` / ``tvar_se`` of the loss ``-net_assets`` [IDR];
        ``depletion``: ``{"year": [years..., "not within horizon"], "count", "probability", "se"}`` of the
        first depletion year; ``units`` and ``methods`` (text).
    """
    net, months, label = fund_series(ds, compartment)
    n = net.shape[0]
    years = [int(y) for y in ds["year"].values]
    p_neg, p_neg_se = _p_se(net < 0)
    p_low, p_low_se = _p_se(months < MIN_MONTHS)
    p_high, p_high_se = _p_se(months > MAX_MONTHS)
    first = first_depletion_year(net)
    counts = np.bincount(first, minlength=len(years) + 1)
    p_dep = counts / n
    by = np.cumsum(p_dep[:-1])
    loss = -net.T  # (Y, n)
    var, tvar = var_tvar(loss, level)
    return {
        "compartment": label, "n_sims": int(n), "years": years, "level": level,
        "p_negative": _floats(p_neg), "p_negative_se": _floats(p_neg_se),
        "p_months_below_1_5": _floats(p_low), "p_months_below_1_5_se": _floats(p_low_se),
        "p_months_above_6": _floats(p_high), "p_months_above_6_se": _floats(p_high_se),
        "p_depleted_by": _floats(by), "p_depleted_by_se": _floats(np.sqrt(by * (1 - by) / n)),
        "depletion": {"year": years + [NOT_WITHIN], "count": [int(c) for c in counts],
                      "probability": _floats(p_dep), "se": _floats(np.sqrt(p_dep * (1 - p_dep) / n))},
        "var": _floats(var), "var_se": _floats(quantile_se(loss, level)),
        "tvar": _floats(tvar), "tvar_se": _floats(tvar_se(loss, var, level)),
        "units": {"var": "IDR", "tvar": "IDR", "months": "month", "probabilities": "1"},
        "methods": {
            "loss": "L = -net assets at year end",
            "var": "VaR = L_(ceil(n a)); SE by the order-statistic (binomial) method",
            "tvar": "TVaR = VaR + E[(L - VaR)^+]/(1 - a); SE = sd((L - VaR)^+)/((1 - a) sqrt(n))",
            "probabilities": "SE = sqrt(p (1 - p) / n)",
            "depletion": "first year with net assets < 0, recovery later notwithstanding",
        },
    }


def fund_measures_frame(measures: dict) -> pd.DataFrame:
    """One row per year of :func:`fund_risk_measures` (the per-year lists as columns)."""
    per_year = {k: v for k, v in measures.items()
                if isinstance(v, list) and len(v) == len(measures["years"]) and k != "years"}
    df = pd.DataFrame({"year": measures["years"], **per_year})
    dep = measures["depletion"]
    df["p_first_depletion"] = dep["probability"][:-1]
    df["p_first_depletion_se"] = dep["se"][:-1]
    return df.assign(compartment=measures["compartment"])
