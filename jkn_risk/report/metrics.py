"""Risk measures of the fund's surplus, with Monte Carlo standard errors.

Everything here is a pure function of a results Dataset (see ``jkn_risk.results``): reductions over ``sim``,
kept labelled by ``year`` and ``compartment`` (and any other leading dimension, e.g. ``scenario``).

Conventions
-----------
* The *loss* is the deficit, ``L = -surplus`` [IDR]; a negative VaR means the fund is still in surplus at
  that confidence level.
* ``VaR_a`` is the empirical a-quantile of the loss, the order statistic ``L_(ceil(n a))`` (inverse of the
  empirical distribution function, the Solvency II reading of "99.5% VaR").
* ``TVaR_a`` is the expected shortfall ``VaR_a + E[(L - VaR_a)^+] / (1 - a)`` (Rockafellar-Uryasev / Acerbi-
  Tasche), which equals ``E[L | L >= VaR_a]`` for continuous losses and is coherent for any n.
* Standard errors of VaR and TVaR come from a **bootstrap over simulations**: whole simulations are resampled
  with replacement (the same resample for every year, compartment and scenario, so pairings and correlations are
  kept), ``n_boot`` times, with ``numpy.random.Generator(PCG64(seed))`` and a fixed default seed, so a report is a
  deterministic function of its results. This generator is the report's own and never touches the
  simulation's streams (``jkn_risk.rng``).
* Quantiles of the surplus and of the claim ratio use numpy's default (linear interpolation); VaR uses the
  order statistic above, so ``VaR_0.995`` and ``-surplus_quantile(0.005)`` agree up to one order statistic.
* The total over compartments (``compartment="total"``) is added when a dataset has more than one compartment:
  the compartments of one scheme partition the fund, so their sum is the fund's overall balance.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import xarray as xr

QUANTILES = (0.005, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)
LEVELS = (0.95, 0.995)
N_BOOT = 200
BOOT_SEED = 20140101
TOTAL = "total"

__all__ = [
    "QUANTILES", "LEVELS", "N_BOOT", "BOOT_SEED", "TOTAL",
    "with_total", "var_tvar", "bootstrap_se", "bootstrap_var_tvar", "risk_measures", "to_frame", "to_json",
    "pd_by_region_segment", "pd_convergence",
]


# ---------------------------------------------------------------------------------------------------------------
# numpy core: statistics along the last axis (simulations)
# ---------------------------------------------------------------------------------------------------------------
def _order_index(n: int, level: float) -> int:
    """0-based index of the order statistic ``L_(ceil(n a))``."""
    return min(max(math.ceil(n * level - 1e-9), 1), n) - 1


def var_tvar(loss: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Empirical VaR and TVaR of ``loss`` along its last axis.

    Parameters
    ----------
    loss : ndarray(float64, (..., n_sim)) [IDR]
        Losses (deficits, ``-surplus``); assumed free of NaN.
    level : float
        Confidence level ``a`` in (0, 1), e.g. 0.995.

    Returns
    -------
    var, tvar : ndarray(float64, (...)) [IDR]
        ``L_(ceil(n a))`` and ``var + mean((L - var)^+) / (1 - a)``.
    """
    out = _var_tvar_stack(loss, (level,))
    return out[..., 0, 0], out[..., 1, 0]


def _var_tvar_stack(loss: np.ndarray, levels) -> np.ndarray:
    """VaR and TVaR at each level, stacked as ``(..., 2, n_level)``; one partial sort for all levels."""
    n = loss.shape[-1]
    ks = [_order_index(n, a) for a in levels]
    part = np.partition(loss, sorted(set(ks)), axis=-1)
    out = np.empty(loss.shape[:-1] + (2, len(levels)))
    for j, (k, a) in enumerate(zip(ks, levels)):
        var = part[..., k]
        # the values above position k of the partition are the ones >= var (ties below add zero)
        excess = (part[..., k + 1:] - var[..., None]).sum(axis=-1)
        out[..., 0, j] = var
        out[..., 1, j] = var + excess / n / (1.0 - a)
    return out


def bootstrap_se(stat, *arrays: np.ndarray, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """Bootstrap standard error of ``stat(*arrays)``, resampling whole simulations (the last axis).

    Parameters
    ----------
    stat : callable
        ``stat(*arrays) -> ndarray(float64, shape)``, a statistic along the last axis.
    *arrays : ndarray(float64, (..., n_sim))
        Arrays sharing their last axis; the same resample of simulations is applied to all of them, so paired
        statistics (e.g. a difference between scenarios run with common random numbers) keep their pairing.
    n_boot : int
        Number of bootstrap resamples.
    seed : int
        Seed of the report's own ``numpy.random.Generator(PCG64(seed))``; fixed, so results are deterministic.

    Returns
    -------
    ndarray(float64, shape)
        Sample standard deviation (ddof=1) of the statistic over the resamples.
    """
    n = arrays[0].shape[-1]
    reps = [np.asarray(stat(*(a[..., idx] for a in arrays)), dtype=np.float64)
            for idx in _resamples(n, n_boot, seed)]
    return np.std(reps, axis=0, ddof=1)


def _resamples(n: int, n_boot: int, seed: int):
    """Yield ``n_boot`` resamples of simulation indices, ndarray(int64, (n,)), from the report's fixed seed."""
    rng = np.random.Generator(np.random.PCG64(seed))
    for _ in range(n_boot):
        yield rng.integers(0, n, size=n)


def bootstrap_var_tvar(loss: np.ndarray, levels=LEVELS, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """Bootstrap replicates of VaR and TVaR, exactly as ``_var_tvar_stack(loss[..., idx])`` for the resamples
    of ``bootstrap_se`` (same seed, same resamples), but touching only the upper tail of each cell.

    A resample is represented by its counts ``c_j`` of each simulation; walking each cell's losses from the
    largest down, the resampled order statistic is where the cumulative count reaches ``n - k``. A window of
    the ``m + 8 sqrt(m) + 32`` largest losses (``m = n - k`` for the lowest level) nearly always suffices; a
    resample where it does not is recomputed on the full sample, so the result is exact.

    Parameters
    ----------
    loss : ndarray(float64, (..., n_sim)) [IDR]
        Losses, free of NaN.
    levels : sequence of float
    n_boot, seed : int

    Returns
    -------
    ndarray(float64, (n_boot, ..., 2, n_level)) [IDR]
        Replicates of ``[VaR, TVaR]`` per level.
    """
    shape, n = loss.shape[:-1], loss.shape[-1]
    flat = loss.reshape(-1, n)
    ks = [_order_index(n, a) for a in levels]
    m_max = n - min(ks)
    order = np.argsort(-flat, axis=-1, kind="stable")
    desc = np.take_along_axis(flat, order, axis=-1)
    out = np.empty((n_boot, flat.shape[0], 2, len(levels)))
    rows = np.arange(flat.shape[0])
    for b, idx in enumerate(_resamples(n, n_boot, seed)):
        counts = np.bincount(idx, minlength=n)
        w = min(n, m_max + int(8 * math.sqrt(m_max)) + 32)
        while True:
            cw = counts[order[:, :w]]
            cum = np.cumsum(cw, axis=-1)
            if w == n or cum[:, -1].min() >= m_max:
                break
            w = n  # the window was too short for some cell: use every simulation
        vals = desc[:, :w]
        for j, (k, a) in enumerate(zip(ks, levels)):
            pos = np.argmax(cum >= n - k, axis=-1)
            var = vals[rows, pos]
            excess = (cw * np.maximum(vals - var[:, None], 0.0)).sum(axis=-1)
            out[b, :, 0, j] = var
            out[b, :, 1, j] = var + excess / n / (1.0 - a)
    return out.reshape((n_boot,) + shape + (2, len(levels)))


def _nan_safe(fn, arr: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to the cells of ``arr`` (..., n_sim) without NaN; NaN cells (e.g. a compartment absent
    from a scenario) give NaN."""
    bad = np.isnan(arr).any(axis=-1)
    out = np.asarray(fn(np.where(bad[..., None], 0.0, arr)), dtype=np.float64)
    out[bad] = np.nan
    return out


# ---------------------------------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------------------------------
def with_total(da: xr.DataArray) -> xr.DataArray:
    """Append ``compartment="total"`` (the sum over compartments, NaN-skipping) when there are several
    and none of them is already the whole fund (``"national"``: e.g. the stress test's overlapping
    national / segment / region views).

    Parameters
    ----------
    da : DataArray(float64, (..., compartment, ...)) [IDR]

    Returns
    -------
    DataArray
        ``da`` loaded into memory, with one more compartment when ``da`` had more than one.
    """
    da = da.compute()
    labels = list(da["compartment"].values)
    if da.sizes["compartment"] <= 1 or TOTAL in labels or "national" in labels:
        return da
    total = da.sum("compartment", skipna=True, min_count=1).expand_dims(compartment=[TOTAL])
    return xr.concat([da, total.transpose(*da.dims)], dim="compartment")


def _sim_last(da: xr.DataArray) -> xr.DataArray:
    return da.transpose(..., "sim")


def _wrap(values, template: xr.DataArray, extra: dict | None = None, **attrs) -> xr.DataArray:
    """Label ``values`` with the non-sim dims of ``template`` plus trailing ``extra`` dims."""
    dims = [d for d in template.dims if d != "sim"]
    coords = {d: template[d].values for d in dims if d in template.coords}
    extra = extra or {}
    dims += list(extra)
    coords.update({k: np.asarray(v) for k, v in extra.items()})
    return xr.DataArray(np.asarray(values, dtype=np.float64), dims=dims, coords=coords, attrs=attrs)


def risk_measures(ds: xr.Dataset, *, include_total: bool = True, n_boot: int = N_BOOT,
                  seed: int = BOOT_SEED) -> xr.Dataset:
    """Risk measures of the fund-borne surplus per year and compartment.

    Parameters
    ----------
    ds : xr.Dataset
        Results (possibly lazy, from Zarr) with ``surplus_compartment``, ``income_compartment``,
        ``medical_cost_compartment`` (sim, [scenario,] year, compartment) [IDR] and, optionally,
        ``expected_surplus_compartment`` and ``regional_government_share`` (same dims) [IDR].
    include_total : bool
        Add the ``"total"`` compartment (sum over compartments) when there are several.
    n_boot, seed : int
        Bootstrap resamples and the fixed seed of the report's generator (VaR and TVaR standard errors).

    Returns
    -------
    xr.Dataset
        Dims ``year``, ``compartment`` (plus any leading dims of the input such as ``scenario``), ``quantile``
        (``QUANTILES``) and ``level`` (``LEVELS``). Variables: ``p_deficit`` and ``p_deficit_se`` ["1"]
        (binomial SE ``sqrt(p(1-p)/n)``); ``surplus_mean``, ``surplus_mean_se`` (``sd/sqrt(n)``), ``surplus_std``,
        ``surplus_quantile`` (numpy's linear interpolation) [IDR]; ``deficit_var``, ``deficit_var_se``,
        ``deficit_tvar``, ``deficit_tvar_se`` (level) [IDR], SEs by bootstrap over simulations;
        ``claim_ratio_mean`` and ``claim_ratio_quantile`` ["1"], medical cost / income; the variance split
        ``var_total`` (sample variance of the surplus before any regional-government share), ``var_parameter``
        (sample variance of ``expected_surplus_compartment``, the exact conditional mean given each
        simulation's parameters), ``var_process`` (``mean((S - E[S|theta])^2)``, an unbiased estimate of
        ``E[Var(S|theta)]`` because the conditional mean is exact) [IDR^2] and ``parameter_share``
        (``var_parameter / (var_parameter + var_process)``) ["1"]. The two parts add up to ``var_total`` up to
        Monte Carlo error (the cross term has mean zero); they are NaN without ``expected_surplus_compartment``.
    """
    surplus = ds["surplus_compartment"]
    if include_total:
        surplus = with_total(surplus)
    s = _sim_last(surplus.compute())
    n = s.sizes["sim"]
    x = s.values.astype(np.float64)
    qs, lv = np.asarray(QUANTILES), np.asarray(LEVELS)
    out = xr.Dataset(attrs={
        "n_sims": n, "n_boot": n_boot, "bootstrap_seed": seed,
        "var_method": "VaR_a = L_(ceil(n a)); TVaR_a = VaR_a + E[(L-VaR_a)^+]/(1-a); L = -surplus",
        "se_method": "P(deficit): sqrt(p(1-p)/n); mean: sd/sqrt(n); VaR, TVaR: bootstrap over simulations",
        "config_name": ds.attrs.get("config_name", ""),
    })
    idr = {"units": "IDR"}

    p = (x < 0).mean(axis=-1).astype(np.float64)
    p[np.isnan(x).any(-1)] = np.nan
    out["p_deficit"] = _wrap(p, s, units="1", long_name="probability of deficit (surplus < 0)")
    out["p_deficit_se"] = _wrap(np.sqrt(p * (1 - p) / n), s, units="1",
                                long_name="Monte Carlo standard error of the probability of deficit")
    mean, sd = x.mean(axis=-1), x.std(axis=-1, ddof=1)
    out["surplus_mean"] = _wrap(mean, s, **idr, long_name="mean surplus")
    out["surplus_mean_se"] = _wrap(sd / np.sqrt(n), s, **idr, long_name="standard error of the mean surplus")
    out["surplus_std"] = _wrap(sd, s, **idr, long_name="standard deviation of the surplus")
    out["surplus_quantile"] = _wrap(np.quantile(x, qs, axis=-1).transpose(*range(1, x.ndim), 0), s,
                                    {"quantile": qs}, **idr, long_name="quantiles of the surplus")

    loss = -x
    est = _nan_safe(lambda a: _var_tvar_stack(a, lv), loss)
    se = _nan_safe(lambda a: bootstrap_var_tvar(a, lv, n_boot, seed).std(axis=0, ddof=1), loss)
    for j, name in enumerate(("var", "tvar")):
        word = "value at risk" if name == "var" else "tail value at risk (expected shortfall)"
        out[f"deficit_{name}"] = _wrap(est[..., j, :], s, {"level": lv}, **idr, long_name=f"{word} of the deficit")
        out[f"deficit_{name}_se"] = _wrap(se[..., j, :], s, {"level": lv}, **idr,
                                          long_name=f"bootstrap standard error of the {word} of the deficit")

    med, inc = ds["medical_cost_compartment"], ds["income_compartment"]
    if include_total:
        med, inc = with_total(med), with_total(inc)
    cr = _sim_last((med / inc).compute()).transpose(*s.dims).values
    out["claim_ratio_mean"] = _wrap(cr.mean(axis=-1), s, units="1",
                                    long_name="mean claim ratio (medical cost / income)")
    out["claim_ratio_quantile"] = _wrap(np.quantile(cr, qs, axis=-1).transpose(*range(1, cr.ndim), 0), s,
                                        {"quantile": qs}, units="1", long_name="quantiles of the claim ratio")

    pre = surplus  # the variance split refers to the surplus before any regional-government share
    if "regional_government_share" in ds:
        share = ds["regional_government_share"]
        pre = surplus - (with_total(share) if include_total else share.compute())
    pre = _sim_last(pre.compute()).transpose(*s.dims).values
    var_total = pre.var(axis=-1, ddof=1)
    if "expected_surplus_compartment" in ds:
        exp = ds["expected_surplus_compartment"]
        m = _sim_last((with_total(exp) if include_total else exp).compute()).transpose(*s.dims).values
        var_par = m.var(axis=-1, ddof=1)
        var_proc = ((pre - m) ** 2).mean(axis=-1)
    else:
        var_par = var_proc = np.full_like(var_total, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_par = var_par / (var_par + var_proc)
    idr2 = {"units": "IDR2"}
    out["var_total"] = _wrap(var_total, s, **idr2, long_name="variance of the surplus (before regional share)")
    out["var_parameter"] = _wrap(var_par, s, **idr2, long_name="parameter variance Var(E[surplus | parameters])")
    out["var_process"] = _wrap(var_proc, s, **idr2, long_name="process variance E[Var(surplus | parameters)]")
    out["parameter_share"] = _wrap(share_par, s, units="1", long_name="parameter share of the surplus variance")
    return out


def to_frame(measures: xr.Dataset) -> pd.DataFrame:
    """Flatten ``risk_measures`` output into one row per (leading dims,) year and compartment.

    Quantile columns are named ``surplus_q0.005``, ``claim_ratio_q0.95``; level columns ``deficit_var_99.5``,
    ``deficit_tvar_se_95``. Amounts stay in IDR.
    """
    cols = {}
    for name, da in measures.data_vars.items():
        if "quantile" in da.dims:
            stem = name.replace("_quantile", "")
            for q in da["quantile"].values:
                cols[f"{stem}_q{float(q):g}"] = da.sel(quantile=q, drop=True)
        elif "level" in da.dims:
            for a in da["level"].values:
                cols[f"{name}_{100 * float(a):g}"] = da.sel(level=a, drop=True)
        else:
            cols[name] = da
    df = xr.Dataset(cols).to_dataframe().reset_index()
    lead = [c for c in ("scenario", "year", "compartment") if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead]]


def _records(df: pd.DataFrame) -> list[dict]:
    recs = []
    for row in df.to_dict(orient="records"):
        rec = {}
        for k, v in row.items():
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (float, np.floating)):
                v = None if not np.isfinite(v) else float(v)
            rec[str(k)] = v
        recs.append(rec)
    return recs


def to_json(measures: xr.Dataset | pd.DataFrame) -> str:
    """Plain JSON: a list of records, one per year and compartment, with every measure (amounts in IDR, NaN as
    null)."""
    df = measures if isinstance(measures, pd.DataFrame) else to_frame(measures)
    return json.dumps(_records(df), indent=1)


def pd_by_region_segment(ds: xr.Dataset, year: int | None = None) -> xr.Dataset:
    """Probability that the region x segment surplus (``surplus``, before compartments and regional shares) is
    negative.

    Parameters
    ----------
    ds : xr.Dataset
        Results with ``surplus`` (sim, year, region, segment) [IDR].
    year : int, optional
        A projection year; by default the *cumulative* surplus over all projection years is used (the
        probability that the cell ends the projection period with a net deficit).

    Returns
    -------
    xr.Dataset
        ``p_deficit`` and ``p_deficit_se`` (binomial) (region, segment) ["1"].
    """
    s = ds["surplus"]
    s = s.sum("year") if year is None else s.sel(year=year)
    p = (s.compute() < 0).mean("sim")
    return xr.Dataset({
        "p_deficit": p.assign_attrs(units="1", long_name="probability of deficit"),
        "p_deficit_se": np.sqrt(p * (1 - p) / s.sizes["sim"]).assign_attrs(units="1", long_name="standard error"),
    }, attrs={"year": "all (cumulative)" if year is None else int(year)})


def pd_convergence(ds: xr.Dataset, year: int, compartment: str) -> xr.Dataset:
    """Running probability of deficit over the first ``k`` simulations, k = 1..n_sim.

    Parameters
    ----------
    ds : xr.Dataset
        Results with ``surplus_compartment``.
    year : int
    compartment : str
        A compartment label, or ``"total"`` for the sum over compartments.

    Returns
    -------
    xr.Dataset
        Dim ``n`` (number of simulations, 1..n_sim): ``p_deficit`` and ``p_deficit_se`` ``sqrt(p(1-p)/n)``
        ["1"], in the order of the ``sim`` coordinate.
    """
    s = with_total(ds["surplus_compartment"].sel(year=year)).sel(compartment=compartment).sortby("sim")
    d = (s.values < 0).astype(np.float64)
    k = np.arange(1, d.size + 1)
    p = np.cumsum(d) / k
    return xr.Dataset({
        "p_deficit": ("n", p, {"units": "1", "long_name": "running probability of deficit"}),
        "p_deficit_se": ("n", np.sqrt(p * (1 - p) / k), {"units": "1", "long_name": "standard error"}),
    }, coords={"n": k}, attrs={"year": int(year), "compartment": str(compartment)})
