"""Figures of the fund's balance: fan charts of net assets and of months of claims, the depletion-year histogram.

Object-oriented matplotlib (no pyplot state); ``Figure.savefig`` renders with the Agg canvas. Each function takes
a Dataset as :func:`jkn_risk.report.fund_metrics.fund_series` reads it and returns a ``Figure``; only
:func:`save_fund_figures` writes files. Amounts are in IDR trillion.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from .fund_metrics import MAX_MONTHS, MIN_MONTHS, NOT_WITHIN, fund_risk_measures, fund_series
from .plots import BANDS, TRILLION, describe, fan

__all__ = ["BANDS", "net_assets_fan", "months_of_claims_fan", "depletion_histogram", "save_fund_figures"]


def _fan_figure(years: np.ndarray, x: np.ndarray, colour: str, ylabel: str, title: str,
                lines: tuple[tuple[float, dict], ...] = ()) -> Figure:
    """One fan chart of ``x`` (n_sim, Y) [the units ``ylabel`` names] over ``years`` (Y,): the bands, then each
    ``(level, axhline keywords)`` of ``lines``, then the zero line (drawn last, so it lies on top), labels and the
    legend."""
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    fan(ax, years, x, colour)
    for level, style in lines:
        ax.axhline(level, **style)
    ax.axhline(0.0, color="black", lw=1)
    ax.set(xlabel="year", ylabel=ylabel, title=title)
    ax.legend(loc="best")
    return fig


def net_assets_fan(ds: xr.Dataset, compartment: str | None = None) -> Figure:
    """Fan chart of year-end net assets [IDR trillion] with the zero line.

    Parameters
    ----------
    ds : xr.Dataset
        ``net_assets``, ``months_of_claims`` (sim, year, compartment) (and ``fund_medical_cost`` for the total).
    compartment : str, optional
        Default: the only compartment, else the whole fund.
    """
    net, _, label = fund_series(ds, compartment)
    return _fan_figure(ds["year"].values, net / TRILLION, "tab:blue", "net assets at year end (IDR trillion)",
                       f"Net assets of {describe(label)}")


def months_of_claims_fan(ds: xr.Dataset, compartment: str | None = None) -> Figure:
    """Fan chart of months of claims (12 x net assets / the year's medical cost) with the 1.5 and 6 month lines."""
    _, months, label = fund_series(ds, compartment)
    limits = ((MIN_MONTHS, dict(color="tab:red", ls="--", lw=1.2, label=f"{MIN_MONTHS:g} months (minimum)")),
              (MAX_MONTHS, dict(color="tab:orange", ls="--", lw=1.2, label=f"{MAX_MONTHS:g} months (maximum)")))
    return _fan_figure(ds["year"].values, months, "tab:green", "months of claims",
                       f"Months of claims held by {describe(label)}", limits)


def depletion_histogram(ds: xr.Dataset, compartment: str | None = None) -> Figure:
    """Probability of each first depletion year (net assets < 0), with a 'not within horizon' bar and 2-SE bars."""
    m = fund_risk_measures(ds, compartment)
    dep = m["depletion"]
    labels = [str(y) for y in dep["year"][:-1]] + [NOT_WITHIN]
    p = np.array(dep["probability"], dtype=np.float64)
    se = np.array([np.nan if s is None else s for s in dep["se"]], dtype=np.float64)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    colours = ["tab:red"] * (len(labels) - 1) + ["tab:gray"]
    x = np.arange(len(labels))
    ax.bar(x, p, color=colours, yerr=2 * se, capsize=3)
    ax.set_xticks(x, labels)
    ax.set(xlabel="first year with negative net assets", ylabel="probability",
           title=f"First depletion year of {describe(m['compartment'])} (n = {m['n_sims']:,})")
    ax.grid(axis="y", alpha=0.3)
    return fig


def save_fund_figures(ds: xr.Dataset, folder, compartment: str | None = None) -> list[Path]:
    """Write the three figures as PNG files into ``folder`` (created if needed); return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in (("fund_net_assets_fan", net_assets_fan), ("fund_months_of_claims_fan", months_of_claims_fan),
                       ("fund_depletion_year", depletion_histogram)):
        path = folder / f"{name}.png"
        make(ds, compartment).savefig(path, dpi=120)
        paths.append(path)
    return paths
