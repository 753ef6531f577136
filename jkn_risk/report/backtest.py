"""Back-test scores: the model's predictive distribution of each published outcome, scored.

For every actual (:mod:`jkn_risk.report.actuals`) inside a run's projection years, the
simulations give an ensemble of the same quantity (:func:`model_series`, the one place where
store variables map to published ones), and :func:`score_ensemble` reports:

* ``q05 .. q95``: ensemble quantiles, numpy's linear interpolation (as :mod:`.metrics`);
* ``pit``: the mid-rank probability integral transform ``(#{x < y} + (#{x = y} + 1) / 2) / (m + 1)``
  of the actual ``y`` among the ``m`` simulations. It is the rank of ``y`` among the ``m + 1``
  values, ties shared, so when ``y`` is one more draw from the model it is uniform on the grid
  ``(r + 1/2) / (m + 1)``, ``r = 0..m`` (exactly, for any ``m``), and a model with no spread
  gives 1/2 for an actual equal to it, not 0 or 1 (Czado, Gneiting and Held 2009 discuss PITs
  of discrete forecasts);
* ``covered_50`` / ``covered_90``: ``y`` inside ``[q25, q75]`` / ``[q05, q95]``;
* ``crps``: ``scoringrules.crps_ensemble``, the fair estimator (Ferro 2014), unbiased for the
  CRPS of the model's predictive distribution itself rather than of its m-point sample; units
  of the variable. It is computed in its probability-weighted-moment form (``estimator="pwm"``,
  Zamo and Naveau 2018), which gives the same value in O(m log m) after a sort, where
  scoringrules' ``"fair"`` forms all m^2 pairs (quadratic time and memory);
* ``interval_score_50`` / ``interval_score_90``: ``scoringrules.interval_score`` of those bands
  (Gneiting and Raftery 2007), units of the variable.

Values that agree to :data:`TIE_RTOL` (relative) count as equal: a model value that is an input
(the base year's members) comes back as a sum of cells rounded in generated tables, and that
must not decide a coverage. 1e-8 is far below the precision of any published figure (at most
six significant digits) and far above float64 rounding.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import xarray as xr

from .actuals import NATIONAL, VARIABLES, Actual, ActualsError

__all__ = ["QUANTILES", "TIE_RTOL", "NEEDED", "NotModelled", "CompartmentError", "model_series",
           "compartment_labels", "pit", "crps", "interval_score", "score_ensemble",
           "score_actuals", "summarise", "format_value"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_QNAMES = ("q05", "q25", "q50", "q75", "q95")
TIE_RTOL = 1e-8
_PIT_BINS = 10
#: The store variables :func:`model_series` reads (those present are loaded: the static ``members`` stands in
#: for ``members_drawn``, and ``net_assets`` is there only when the fund is modelled).
NEEDED = ("income_compartment", "medical_cost_compartment", "members", "members_drawn", "net_assets")


class NotModelled(Exception):
    """The results store has no variable for this outcome (a skip, not an error)."""


class CompartmentError(ValueError):
    """A compartment label that the results store does not have."""


# --------------------------------------------------------------------------- model side
def compartment_labels(ds: xr.Dataset) -> list[str]:
    """The store's compartment labels, as ``str``."""
    return [str(c) for c in ds["compartment"].values]


def _fund(da: xr.DataArray, compartment: str | None) -> xr.DataArray:
    """A (sim, year, compartment) variable for one compartment, or summed over all of them."""
    if compartment is None or (compartment == NATIONAL and NATIONAL not in compartment_labels(da)):
        return da.sum("compartment")  # the whole fund: its compartments partition it
    return da.isel(compartment=compartment_labels(da).index(compartment))


def _members(ds: xr.Dataset, compartment: str | None) -> xr.DataArray:
    """Average members (sim, year) of the whole fund or of the cells of one compartment."""
    m = ds["members_drawn"] if "members_drawn" in ds else ds["members"]
    segs = [str(s) for s in ds["segment"].values]
    regs = [str(r) for r in ds["region"].values]
    if compartment not in (None, NATIONAL):
        seg, _, reg = compartment.partition("/")
        if compartment in regs:
            m = m.isel(region=[regs.index(compartment)])
        else:  # a segment, or "segment/region"
            m = m.isel(segment=[segs.index(seg)])
            if reg:
                m = m.isel(region=[regs.index(reg)])
    total = m.sum(["region", "segment"])
    if "sim" not in total.dims:  # static members: the same in every simulation
        total = total.expand_dims(sim=ds["sim"].values)
    return total


def model_series(ds: xr.Dataset, variable: str, compartment: str | None = None) -> xr.DataArray:
    """The model's value of a published variable, per simulation and year.

    Parameters
    ----------
    ds : xr.Dataset
        Results (:func:`jkn_risk.results.open_results`) without a ``scenario`` dimension:
        ``income_compartment`` and ``medical_cost_compartment`` (sim, year, compartment) [IDR];
        ``members_drawn`` (sim, year, region, segment) or else the static ``members`` (year,
        region, segment) [member-years]; ``net_assets`` (sim, year, compartment) [IDR] if the
        fund is modelled.
    variable : str
        One of :data:`jkn_risk.report.actuals.VARIABLES`: ``income`` = income summed over
        compartments; ``benefit_cost`` = medical cost (claims + non-CBG) likewise;
        ``claim_ratio`` = their ratio; ``members``; ``income_pmpm`` and ``cost_pmpm`` = income
        or cost / (members x 12); ``net_assets`` at year end.
    compartment : str, optional
        A compartment label of ``ds``; ``None`` or ``"national"`` (when the store has no such
        compartment) is the whole fund. Members of a compartment are those of its cells
        (segment, region or ``"segment/region"``).

    Returns
    -------
    xr.DataArray(float64, (sim, year))
        Loaded in memory; units as in ``VARIABLES``.

    Raises
    ------
    NotModelled
        ``net_assets`` without a ``net_assets`` variable.
    CompartmentError
        A compartment label that ``ds`` does not have.
    """
    if variable not in VARIABLES:
        raise ValueError(f"unknown variable {variable!r}")
    if "scenario" in ds.dims:
        raise ValueError("model_series takes one scenario: select it first")
    labels = compartment_labels(ds)
    if compartment is not None and compartment != NATIONAL and compartment not in labels:
        raise CompartmentError(f"compartment {compartment!r} is not in the results "
                               f"(compartments: {', '.join(labels)})")
    if variable == "net_assets":
        if "net_assets" not in ds:
            raise NotModelled("net_assets: not modelled by this results store (no fund variable)")
        out = _fund(ds["net_assets"], compartment)
    elif variable == "members":
        out = _members(ds, compartment)
    else:
        income = _fund(ds["income_compartment"], compartment)
        cost = _fund(ds["medical_cost_compartment"], compartment)
        if variable == "claim_ratio":
            out = cost / income
        else:  # income or benefit cost, in total or per member per month
            out = income if variable.startswith("income") else cost
            if variable.endswith("_pmpm"):
                out = out / (12.0 * _members(ds, compartment))
    units, long_name = VARIABLES[variable]
    out = out.transpose("sim", "year").astype(np.float64).load()
    out.name = variable
    out.attrs = {"units": units, "long_name": long_name}
    return out


# --------------------------------------------------------------------------- scores (numpy)
def _tolerance(obs: np.ndarray) -> np.ndarray:
    return TIE_RTOL * np.abs(obs)


def pit(ensemble: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Mid-rank PIT of each observation in its ensemble.

    Parameters
    ----------
    ensemble : ndarray(float64, (..., m))
    obs : ndarray(float64, (...))

    Returns
    -------
    ndarray(float64, (...)) in ``[1 / (2 (m + 1)), 1 - 1 / (2 (m + 1))]``.
    """
    ens, y = np.asarray(ensemble, dtype=np.float64), np.asarray(obs, dtype=np.float64)
    tol = _tolerance(y)[..., None]
    below = (ens < y[..., None] - tol).sum(axis=-1)
    ties = (np.abs(ens - y[..., None]) <= tol).sum(axis=-1)
    return (below + 0.5 * (ties + 1)) / (ens.shape[-1] + 1)


def crps(ensemble: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Fair CRPS of the observations, ``scoringrules.crps_ensemble(estimator="pwm")`` [units of obs].

    Parameters
    ----------
    ensemble : ndarray(float64, (..., m))
    obs : ndarray(float64, (...))
    """
    import scoringrules as sr  # seconds to import (Numba gufuncs): only when scoring

    y = np.asarray(obs, dtype=np.float64)
    out = sr.crps_ensemble(y, np.asarray(ensemble, dtype=np.float64), estimator="pwm", backend="numpy")
    return np.asarray(out, dtype=np.float64).reshape(y.shape)


def interval_score(obs: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float) -> np.ndarray:
    """Interval score of the central ``1 - alpha`` band, ``scoringrules.interval_score`` [units of obs]."""
    import scoringrules as sr

    y = np.asarray(obs, dtype=np.float64)
    out = sr.interval_score(y, np.asarray(lower), np.asarray(upper), alpha, backend="numpy")
    return np.asarray(out, dtype=np.float64).reshape(y.shape)  # scoringrules drops a length-1 axis


def score_ensemble(ensemble: np.ndarray, obs: np.ndarray) -> dict[str, np.ndarray]:
    """Quantiles, PIT, coverage, CRPS and interval scores of observations against ensembles.

    Parameters
    ----------
    ensemble : ndarray(float64, (n, m))
        ``m`` simulations of each of ``n`` quantities.
    obs : ndarray(float64, (n,))
        The observed values, in the same units.

    Returns
    -------
    dict of ndarray (n,)
        ``q05, q25, q50, q75, q95, pit, crps, interval_score_50, interval_score_90`` (float64)
        and ``covered_50, covered_90`` (bool).
    """
    ens = np.asarray(ensemble, dtype=np.float64)
    y = np.asarray(obs, dtype=np.float64)
    if ens.ndim != 2 or y.shape != ens.shape[:1] or ens.shape[1] < 1:
        raise ValueError(f"ensemble (n, m) and obs (n,) expected, got {ens.shape} and {y.shape}")
    q = np.quantile(ens, QUANTILES, axis=-1)
    out = dict(zip(_QNAMES, q))
    tol = _tolerance(y)
    out["pit"] = pit(ens, y)
    out["covered_50"] = (out["q25"] - tol <= y) & (y <= out["q75"] + tol)
    out["covered_90"] = (out["q05"] - tol <= y) & (y <= out["q95"] + tol)
    out["crps"] = crps(ens, y)
    out["interval_score_50"] = interval_score(y, out["q25"], out["q75"], 0.5)
    out["interval_score_90"] = interval_score(y, out["q05"], out["q95"], 0.1)
    return out


# --------------------------------------------------------------------------- records
def _skip(a: Actual, origin: int, reason: str) -> dict:
    return {"origin": origin, "year": a.year, "variable": a.variable, "compartment": a.compartment,
            "source": a.source, "reason": reason}


def score_actuals(ds: xr.Dataset, actuals: Iterable[Actual], *, origin: int | None = None
                  ) -> tuple[list[dict], list[dict], list[dict]]:
    """Score every actual that falls in the run's projection years.

    Parameters
    ----------
    ds : xr.Dataset
        Results of one run (see :func:`model_series`).
    actuals : iterable of Actual
    origin : int, optional
        The run's base year, recorded with each score; default the first year of ``ds``.

    Returns
    -------
    records : list of dict
        One per scored actual, ordered by variable (as :data:`VARIABLES`), compartment and year:
        ``origin, year, variable, compartment, actual, q05, q25, q50, q75, q95, pit, covered_50,
        covered_90, crps, interval_score_50, interval_score_90, units, n_sims, source`` (plain
        Python values).
    skipped : list of dict
        Actuals in the run's years that were not scored, with a ``reason`` (not modelled).
        Actuals outside the run's years are left out silently: a rolling-origin back-test
        gives every origin the same file, and the reader checks each year against them all.
    fans : list of dict
        Per (variable, compartment) scored: ``origin, variable, compartment, years`` and
        ``quantiles`` ({"q05": [...], ...} over every year of the run), for the fan charts.

    Raises
    ------
    ActualsError
        An actual names a compartment the results do not have (``FILE:LINE: ...``).
    """
    years = [int(y) for y in ds["year"].values]
    origin = int(years[0] if origin is None else origin)
    n_sims = int(ds.sizes["sim"])
    records, skipped, fans = [], [], []
    groups: dict[tuple[str, str], list[Actual]] = {}
    for a in actuals:  # years outside this run are another origin's (a rolling-origin back-test)
        if a.year in years:
            groups.setdefault((a.variable, a.compartment), []).append(a)
    for (variable, comp), acts in groups.items():
        try:
            series = model_series(ds, variable, comp)
        except NotModelled as exc:
            skipped.extend(_skip(a, origin, str(exc)) for a in acts)
            continue
        except CompartmentError as exc:
            raise ActualsError([f"{a.source}: {exc}" for a in acts]) from None
        idx = [years.index(a.year) for a in acts]
        s = score_ensemble(series.values[:, idx].T, np.array([a.value for a in acts]))
        for i, a in enumerate(acts):
            records.append({
                "origin": origin, "year": a.year, "variable": variable, "compartment": comp,
                "actual": a.value, **{k: float(s[k][i]) for k in _QNAMES},
                "pit": float(s["pit"][i]), "covered_50": bool(s["covered_50"][i]),
                "covered_90": bool(s["covered_90"][i]), "crps": float(s["crps"][i]),
                "interval_score_50": float(s["interval_score_50"][i]),
                "interval_score_90": float(s["interval_score_90"][i]),
                "units": VARIABLES[variable][0], "n_sims": n_sims, "source": a.source})
        q = np.quantile(series.values, QUANTILES, axis=0)
        fans.append({"origin": origin, "variable": variable, "compartment": comp, "years": years,
                     "quantiles": {k: q[j].tolist() for j, k in enumerate(_QNAMES)}})
    records.sort(key=lambda r: (r["origin"], list(VARIABLES).index(r["variable"]),
                                r["compartment"], r["year"]))
    return records, skipped, fans


def _rate(k: int, n: int, nominal: float) -> dict:
    return {"covered": k, "n": n, "rate": k / n if n else None, "nominal": nominal,
            "binomial_se": math.sqrt(nominal * (1 - nominal) / n) if n else None}


def summarise(records: list[dict], skipped: Iterable[dict] = ()) -> dict:
    """Summary of a back-test: coverage against the nominal rate, PIT histogram, mean scores.

    The records of one run are not independent (the same simulations score every year and
    variable), so the binomial SE of a coverage rate is a yardstick, not a test.

    Returns
    -------
    dict
        ``n_records``, ``origins``, ``coverage_50`` / ``coverage_90`` (covered, n, rate, nominal,
        binomial_se under the nominal rate), ``mean_pit``, ``pit_histogram`` (edges, counts),
        ``by_variable`` (n, units, mean CRPS and interval scores, covered_90), ``skipped``,
        ``notes`` (e.g. variables in which the model has no spread) and ``method``.
    """
    n = len(records)
    pits = np.array([r["pit"] for r in records], dtype=np.float64)
    edges = np.linspace(0.0, 1.0, _PIT_BINS + 1)
    by_var: dict[str, dict] = {}
    for var in VARIABLES:
        rs = [r for r in records if r["variable"] == var]
        if rs:
            by_var[var] = {"n": len(rs), "units": VARIABLES[var][0],
                           "mean_crps": float(np.mean([r["crps"] for r in rs])),
                           "mean_interval_score_50": float(np.mean([r["interval_score_50"] for r in rs])),
                           "mean_interval_score_90": float(np.mean([r["interval_score_90"] for r in rs])),
                           "covered_90": int(sum(r["covered_90"] for r in rs))}
    notes = sorted({f"{r['variable']} (origin {r['origin']}): the model has no spread in this variable "
                    f"(all {r['n_sims']} simulations equal), so the actual is covered only if it equals "
                    "the model's value" for r in records
                    if abs(r["q95"] - r["q05"]) <= TIE_RTOL * max(abs(r["q50"]), 1.0)})
    return {
        "n_records": n, "origins": sorted({r["origin"] for r in records}),
        "coverage_50": _rate(int(sum(r["covered_50"] for r in records)), n, 0.5),
        "coverage_90": _rate(int(sum(r["covered_90"] for r in records)), n, 0.9),
        "mean_pit": float(pits.mean()) if n else None,
        "pit_histogram": {"edges": edges.tolist(),
                          "counts": np.histogram(pits, bins=edges)[0].tolist()},
        "by_variable": by_var, "skipped": list(skipped), "notes": notes,
        "method": {"quantiles": "numpy linear interpolation",
                   "pit": "mid-rank: (#{x<y} + (#{x=y}+1)/2) / (m+1)",
                   "crps": "fair estimator: scoringrules.crps_ensemble, estimator='pwm'",
                   "interval_score": "scoringrules.interval_score, alpha 0.5 and 0.1",
                   "tie_rtol": TIE_RTOL},
    }


def format_value(variable: str, value: float) -> str:
    """A value for people: IDR totals in trillions, members in millions, claim ratio in %."""
    if value is None or not np.isfinite(value):
        return "-"
    if variable == "claim_ratio":
        return f"{100 * value:.1f}%"
    if variable == "members":
        return f"{value / 1e6:,.2f} M"
    if variable in ("income_pmpm", "cost_pmpm"):
        return f"{value:,.0f}"
    return f"{value / 1e12:,.2f} T"
