"""Figures of the risk report (matplotlib, object-oriented API: no pyplot state, no ``show``).

Every function takes a results Dataset without a ``scenario`` dimension and returns a
``matplotlib.figure.Figure``; ``Figure.savefig`` renders with the Agg canvas. Amounts are in IDR trillion.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from .metrics import TOTAL, pd_by_region_segment, pd_convergence, with_total

TRILLION = 1e12
#: The paper's deterministic claim ratios (Situmorang, Table 6), medical cost / contribution income [%].
TABLE6_CLAIM_RATIO = {2014: 114.9, 2015: 114.6, 2016: 123.7, 2017: 121.6, 2018: 129.2, 2019: 124.2}

__all__ = ["TRILLION", "TABLE6_CLAIM_RATIO", "default_compartment", "describe", "surplus_distribution",
           "claim_ratio_fan", "deficit_exceedance", "pd_heatmap", "convergence_plot"]


def default_compartment(ds: xr.Dataset) -> str:
    """The compartment the one-panel figures show: the only one, else ``"total"`` (the whole fund)."""
    comps = ds["compartment"].values
    return str(comps[0]) if comps.size == 1 else TOTAL


def _surplus(ds: xr.Dataset, compartment: str) -> xr.DataArray:
    """Fund surplus (sim, year) [IDR] of one compartment (``"total"`` allowed)."""
    return with_total(ds["surplus_compartment"]).sel(compartment=compartment).transpose("year", "sim")


def describe(compartment: str) -> str:
    """Words for a compartment label: the whole fund, the pooled national fund, or compartment X."""
    if compartment == TOTAL:
        return "the whole fund (all compartments)"
    return "the pooled national fund" if compartment == "national" else f"compartment {compartment}"


def _label(compartment: str) -> str:
    return describe(compartment).removeprefix("the ")


def surplus_distribution(ds: xr.Dataset, compartments: list[str] | None = None) -> Figure:
    """Violin plots of the fund surplus per year, one panel per compartment, with P(deficit) written on top.

    Parameters
    ----------
    ds : xr.Dataset
        Results with ``surplus_compartment`` (sim, year, compartment) [IDR].
    compartments : list of str, optional
        Default: the only compartment, or ``"total"`` followed by each compartment when there are at most six.
    """
    if compartments is None:
        comps = [str(c) for c in ds["compartment"].values]
        compartments = comps if len(comps) == 1 else [TOTAL] + (comps if len(comps) <= 6 else [])
    fig = Figure(figsize=(9, 2.6 * len(compartments) + 0.6), layout="constrained")
    axes = fig.subplots(len(compartments), 1, squeeze=False)[:, 0]
    for ax, comp in zip(axes, compartments):
        s = _surplus(ds, comp)
        years = s["year"].values
        data = [v / TRILLION for v in s.values]
        ax.violinplot(data, positions=np.arange(len(years)), showmedians=True, widths=0.8)
        ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
        top = max(np.nanmax(d) for d in data)
        for i, d in enumerate(data):
            ax.text(i, top, f"P(def.)={np.mean(d < 0):.1%}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(np.arange(len(years)), [str(y) for y in years])
        ax.set_ylabel("surplus [IDR trillion]")
        ax.set_title(_label(comp), fontsize=10)
        ax.margins(y=0.15)
    fig.suptitle("Distribution of the fund surplus by year")
    return fig


def claim_ratio_fan(ds: xr.Dataset, compartment: str | None = None) -> Figure:
    """Fan chart of the claim ratio (medical cost / contribution income) over the projection years.

    Bands: 5-95% and 25-75%, median line. The paper's Table 6 claim ratios are drawn when the config name
    starts with ``"jkn2014"`` and the chart shows the whole fund.
    """
    compartment = compartment or default_compartment(ds)
    med = with_total(ds["medical_cost_compartment"]).sel(compartment=compartment)
    inc = with_total(ds["income_compartment"]).sel(compartment=compartment)
    cr = (100.0 * med / inc).transpose("year", "sim")
    years = cr["year"].values
    q = np.quantile(cr.values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=-1)
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(years, q[0], q[4], color="tab:blue", alpha=0.2, label="5-95%")
    ax.fill_between(years, q[1], q[3], color="tab:blue", alpha=0.4, label="25-75%")
    ax.plot(years, q[2], color="tab:blue", lw=2, label="median")
    ax.axhline(100.0, color="0.3", lw=0.8, ls="--")
    whole = compartment in (TOTAL, "national") or ds.sizes["compartment"] == 1
    if str(ds.attrs.get("config_name", "")).startswith("jkn2014") and whole:
        ty = [y for y in years if int(y) in TABLE6_CLAIM_RATIO]
        ax.plot(ty, [TABLE6_CLAIM_RATIO[int(y)] for y in ty], "o--", color="tab:red",
                label="paper, Table 6 (deterministic)")
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_ylabel("claim ratio [%]")
    ax.set_title(f"Claim ratio, {_label(compartment)}")
    ax.legend(loc="best", fontsize=8)
    return fig


def deficit_exceedance(ds: xr.Dataset, compartment: str | None = None) -> Figure:
    """Exceedance-probability curves P(deficit > x) per year, logarithmic probability axis.

    The curve at x = 0 is the probability of deficit; x < 0 is a surplus.
    """
    compartment = compartment or default_compartment(ds)
    s = _surplus(ds, compartment)
    n = s.sizes["sim"]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for year, row in zip(s["year"].values, s.values):
        loss = np.sort(-row / TRILLION)
        p = 1.0 - np.arange(1, n + 1) / n  # P(L > L_(i))
        keep = p > 0
        ax.step(loss[keep], p[keep], where="post", label=str(year))
    ax.set_yscale("log")
    ax.set_ylim(0.5 / n, 1.0)
    ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
    for a in (0.05, 0.005):
        ax.axhline(a, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel("deficit x [IDR trillion]")
    ax.set_ylabel("P(deficit > x)")
    ax.set_title(f"Exceedance probability of the deficit, {_label(compartment)}")
    ax.legend(title="year", fontsize=8)
    return fig


def pd_heatmap(ds: xr.Dataset, year: int | None = None) -> Figure:
    """Heatmap of P(deficit) per region x segment (``surplus``, before compartments); cumulative over all
    years by default (see ``pd_by_region_segment``)."""
    res = pd_by_region_segment(ds, year)
    p = res["p_deficit"].transpose("region", "segment")
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(p.values, vmin=0.0, vmax=1.0, cmap="RdYlGn_r", aspect="auto")
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            v = float(p.values[i, j])
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if v < 0.15 or v > 0.85 else "black")
    ax.set_xticks(np.arange(p.shape[1]), [str(x) for x in p["segment"].values])
    ax.set_yticks(np.arange(p.shape[0]), [str(x) for x in p["region"].values])
    fig.colorbar(im, ax=ax, label="P(deficit)")
    when = "cumulative over all years" if year is None else str(year)
    ax.set_title(f"Probability of deficit by region and segment ({when})")
    return fig


def convergence_plot(ds: xr.Dataset, year: int | None = None, compartment: str | None = None) -> Figure:
    """Running P(deficit) against the number of simulations with a +-2 SE band (default: last year, whole
    fund)."""
    year = int(ds["year"].values[-1]) if year is None else int(year)
    compartment = compartment or default_compartment(ds)
    c = pd_convergence(ds, year, compartment)
    n, p, se = c["n"].values, c["p_deficit"].values, c["p_deficit_se"].values
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(n, np.clip(p - 2 * se, 0, 1), np.clip(p + 2 * se, 0, 1), color="tab:blue", alpha=0.25,
                    label="+-2 standard errors")
    ax.plot(n, p, color="tab:blue", lw=1.5, label="running P(deficit)")
    ax.axhline(p[-1], color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of simulations")
    ax.set_ylabel("P(deficit)")
    ax.set_title(f"Convergence of the probability of deficit, {year}, {_label(compartment)}")
    ax.legend(fontsize=8)
    return fig
