"""Active coverage in the run report (seed 003): its distribution by year, nationally and by region,
P(active coverage >= a target) with Monte Carlo standard errors, and fan charts.

Reads the store's ``active_coverage_national`` (sim, year) and ``active_coverage`` (sim, year,
region), fractions (:mod:`jkn_risk.coverage`). The figures use matplotlib's object-oriented API;
only :func:`save_coverage_figures` writes files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from .plots import fan

__all__ = ["NATIONAL", "UHC_TARGET", "coverage_measures", "coverage_fan", "save_coverage_figures"]

#: The label of the national rows.
NATIONAL = "national"
#: The universal-health-coverage target (RPJMN 2020-2024): 98% of the population.
UHC_TARGET = 0.98
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _series(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """``{area: ndarray (n_sim, Y)}``: the national coverage, then each region's."""
    out = {NATIONAL: ds["active_coverage_national"].transpose("sim", "year").values.astype(np.float64)}
    cov = ds["active_coverage"].transpose("sim", "year", "region")
    for r in cov["region"].values:
        out[str(r)] = cov.sel(region=r).values.astype(np.float64)
    return out


def coverage_measures(ds: xr.Dataset, targets=(UHC_TARGET,)) -> pd.DataFrame:
    """Active coverage per area (national, then each region) and year.

    Parameters
    ----------
    ds : xr.Dataset
        ``active_coverage_national`` (sim, year) and ``active_coverage`` (sim, year, region) [1].
    targets : sequence of float
        Coverage levels (fractions) whose exceedance probability is wanted.

    Returns
    -------
    pd.DataFrame
        Columns ``area``, ``year``, ``n_sims``, ``mean`` and ``mean_se`` (sd / sqrt(n)), the
        quantiles ``q0.05`` ... ``q0.95``, and per target ``t``: ``p_ge_<t>`` = P(coverage >= t)
        and ``p_ge_<t>_se`` = sqrt(p (1 - p) / n) (0 when no simulation, or every one, reaches
        it: the probability is then below 3/n, or above 1 - 3/n, with 95% confidence).
    """
    years = [int(y) for y in ds["year"].values]
    rows = []
    for area, x in _series(ds).items():
        n = x.shape[0]
        q = np.quantile(x, QUANTILES, axis=0)
        for j, y in enumerate(years):
            row = {"area": area, "year": y, "n_sims": n, "mean": float(x[:, j].mean()),
                   "mean_se": float(x[:, j].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")}
            row.update({f"q{p:g}": float(q[k, j]) for k, p in enumerate(QUANTILES)})
            for t in targets:
                p = float((x[:, j] >= t).mean())
                row[f"p_ge_{t:g}"] = p
                row[f"p_ge_{t:g}_se"] = float(np.sqrt(p * (1.0 - p) / n))
            rows.append(row)
    return pd.DataFrame(rows)


def coverage_fan(ds: xr.Dataset, target: float = UHC_TARGET) -> Figure:
    """Fan charts of active coverage [%]: the nation (first panel), then each region, with the
    target as a dashed line."""
    series = _series(ds)
    years = ds["year"].values
    k = len(series)
    cols = 3 if k > 4 else k
    rows = -(-k // cols)
    fig = Figure(figsize=(3.6 * cols, 2.9 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (area, x) in zip(axes, series.items()):
        fan(ax, years, 100.0 * x, "tab:purple" if area == NATIONAL else "tab:blue")
        ax.tick_params(axis="x", labelsize=7)
        ax.axhline(100.0 * target, color="tab:red", ls="--", lw=1.1, label=f"{100 * target:g}% target")
        ax.set_title("National" if area == NATIONAL else f"Region {area}", fontsize=10)
        ax.set_ylabel("active coverage (%)", fontsize=8)
    axes[0].legend(loc="best", fontsize=7)
    for ax in axes[k:]:
        ax.set_visible(False)
    fig.suptitle("Active JKN coverage: active members / population (seed 003)")
    return fig


def save_coverage_figures(ds: xr.Dataset, folder, dpi: int = 150,
                          target: float = UHC_TARGET) -> list[Path]:
    """Write ``active_coverage_fan.png`` into ``folder`` (created if needed); return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "active_coverage_fan.png"
    coverage_fan(ds, target).savefig(path, dpi=dpi)
    return [path]
