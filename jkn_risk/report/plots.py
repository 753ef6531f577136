"""Figures of the risk report (matplotlib, object-oriented API: no pyplot state, no ``show``).

Every function takes a results Dataset without a ``scenario`` dimension and returns a
``matplotlib.figure.Figure``; ``Figure.savefig`` renders with the Agg canvas. Amounts are in IDR trillion.

The figures stay readable whatever the spread: each year of the surplus distribution gets its own
axis (a spread of a few hundred billion on a level of tens of trillions would otherwise flatten the
violins), the convergence chart follows the mean fund result when the probability of deficit is 0
or 1 in every simulation, and the heat map uses a colour-blind-safe sequential map (cividis).

Words: the *fund result* is contributions - medical cost - administration, as borne by the fund
(``surplus``, ``surplus_compartment``); the deterministic projection's *contribution surplus*
(contributions - medical cost, the paper's saldo) is another quantity.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .metrics import TOTAL, pd_by_region_segment, pd_convergence, with_total

TRILLION = 1e12
#: The paper's deterministic claim ratios (Situmorang, Table 6), medical cost / contribution income [%].
TABLE6_CLAIM_RATIO = {2014: 114.9, 2015: 114.6, 2016: 123.7, 2017: 121.6, 2018: 129.2, 2019: 124.2}
#: The quantiles a fan chart draws: 5-95% and 25-75% bands and the median.
BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)

__all__ = ["TRILLION", "TABLE6_CLAIM_RATIO", "BANDS", "REGION_NOTE", "default_compartment", "describe", "fan",
           "surplus_distribution", "claim_ratio_fan", "deficit_exceedance", "pd_heatmap", "convergence_plot",
           "pd_is_degenerate"]

#: What the region labels of the baseline configs mean (the heat map's note and the report's caption).
REGION_NOTE = ("R1-R5 are the five INA-CBG tariff regions: groups of provinces, each with its own hospital "
               "tariffs (R1 is Java, where over half of the members live; configs/README.md lists the "
               "provinces of the others)")


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


def _pct(p: float) -> str:
    """A probability for a small label: 0% and 100% exactly, else one decimal."""
    return "0%" if p == 0 else "100%" if p == 1 else f"{p:.1%}"


def fan(ax, years: np.ndarray, x: np.ndarray, colour: str) -> None:
    """Draw a fan chart of ``x`` (n_sim, Y) over ``years`` (Y,) on ``ax``: the 5-95% and 25-75% bands and the
    median (:data:`BANDS`; NaN ignored), a tick per year and a light grid."""
    q = np.nanquantile(x, BANDS, axis=0)
    ax.fill_between(years, q[0], q[4], color=colour, alpha=0.2, lw=0, label="5-95%")
    ax.fill_between(years, q[1], q[3], color=colour, alpha=0.4, lw=0, label="25-75%")
    ax.plot(years, q[2], color=colour, lw=2, label="median")
    ax.set_xticks(years)
    ax.grid(alpha=0.3)


def _break_even(ax, axis: str, value: float, what: str) -> None:
    """A dashed reference line at ``value`` when it lies near the data (within a quarter of the data's span
    beyond it); otherwise no line (it would squeeze the data into a corner) and the axis label says where
    the reference lies."""
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    pad = 0.25 * (hi - lo)
    if lo - pad <= value <= hi + pad:
        (ax.axvline if axis == "x" else ax.axhline)(value, color="0.3", lw=0.8, ls="--")
        return
    side = ("to the left" if value < lo else "to the right") if axis == "x" else ("below" if value < lo else "above")
    label = ax.get_xlabel() if axis == "x" else ax.get_ylabel()
    if axis == "x":
        ax.set_xlabel(f"{label}; {what} lies {side}, off the axis")
    else:
        ax.set_ylabel(f"{label}\n({what} lies {side}, off the axis)", fontsize=9)


def surplus_distribution(ds: xr.Dataset, compartments: list[str] | None = None) -> Figure:
    """Violin plots of the fund result per year (one row per compartment, one panel per year), with the
    probability of deficit above each panel.

    Each panel has its own vertical axis, so the shape of every year's distribution stays visible however
    small its spread is against the differences between years (read the level off the axis; the median is
    marked). The break-even line is drawn where zero lies in the panel's range.

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
    years = ds["year"].values
    n_row, n_col = len(compartments), len(years)
    fig = Figure(figsize=(max(8.0, 1.55 * n_col), 2.3 * n_row + 0.7), layout="constrained")
    axes = fig.subplots(n_row, n_col, squeeze=False)
    for r, comp in enumerate(compartments):
        s = _surplus(ds, comp)
        for c, (year, row) in enumerate(zip(s["year"].values, s.values)):
            ax = axes[r, c]
            d = row[np.isfinite(row)] / TRILLION
            lo, hi = (float(d.min()), float(d.max())) if d.size else (0.0, 0.0)
            if d.size and hi > lo:
                parts = ax.violinplot(d, positions=[0], widths=0.85, showextrema=False)
                for body in parts["bodies"]:
                    body.set_facecolor("tab:blue")
                    body.set_alpha(0.45)
            q05, q50, q95 = np.quantile(d, [0.05, 0.5, 0.95]) if d.size else (np.nan,) * 3
            ax.vlines(0, q05, q95, color="tab:blue", lw=1.2)
            ax.hlines(q50, -0.2, 0.2, color="black", lw=1.5)
            pad = 0.12 * (hi - lo) if hi > lo else max(abs(hi) * 0.01, 1e-3)
            ax.set_ylim(lo - pad, hi + pad)
            if lo - pad <= 0 <= hi + pad:
                ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
            ax.set_xlim(-0.6, 0.6)
            ax.set_xticks([])
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            ax.tick_params(axis="y", labelsize=7)
            p = float(np.mean(row < 0)) if row.size else np.nan
            ax.set_title(f"{year}\nP(def.) {_pct(p)}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{_label(comp)}\n[IDR trillion]", fontsize=8)
    fig.suptitle("Distribution of the fund result by year (each panel its own scale; bar: median, line: 5-95%)",
                 fontsize=10)
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
    whole = compartment in (TOTAL, "national") or ds.sizes["compartment"] == 1
    if str(ds.attrs.get("config_name", "")).startswith("jkn2014") and whole:
        ty = [y for y in years if int(y) in TABLE6_CLAIM_RATIO]
        ax.plot(ty, [TABLE6_CLAIM_RATIO[int(y)] for y in ty], "o--", color="tab:red",
                label="paper, Table 6 (deterministic)")
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_ylabel("claim ratio [%]")
    _break_even(ax, "y", 100.0, "break-even (100%)")
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
    for a in (0.05, 0.005):
        ax.axhline(a, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel("deficit x [IDR trillion]")
    ax.set_ylabel("P(deficit > x)")
    _break_even(ax, "x", 0.0, "break-even (0)")
    ax.set_title(f"Exceedance probability of the deficit, {_label(compartment)}")
    ax.legend(title="year", fontsize=8)
    return fig


def pd_heatmap(ds: xr.Dataset, year: int | None = None) -> Figure:
    """Heatmap of P(deficit) per region x segment (``surplus``, before compartments); cumulative over all
    years by default (see ``pd_by_region_segment``).

    Colour-blind-safe sequential colours (cividis: dark blue 0%, yellow 100%) and the value in every cell;
    each region's share of the members on its label when ``ds`` has ``members``.
    """
    res = pd_by_region_segment(ds, year)
    p = res["p_deficit"].transpose("region", "segment")
    regions = [str(x) for x in p["region"].values]
    if "members" in ds:
        m = ds["members"].sum([d for d in ds["members"].dims if d != "region"])
        share = (m / m.sum()).sel(region=p["region"].values).values
        regions = [f"{r} ({x:.0%} of members)" for r, x in zip(regions, share)]
    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(p.values, vmin=0.0, vmax=1.0, cmap="cividis", aspect="auto")
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            v = float(p.values[i, j])
            ax.text(j, i, _pct(v) if np.isfinite(v) else "", ha="center", va="center", fontsize=9,
                    color="white" if v < 0.55 else "black")
    ax.set_xticks(np.arange(p.shape[1]), [str(x) for x in p["segment"].values])
    ax.set_yticks(np.arange(p.shape[0]), regions)
    ax.set_xlabel("segment")
    ax.set_ylabel("INA-CBG tariff region")
    fig.colorbar(im, ax=ax, label="P(deficit)")
    when = "cumulative over all years" if year is None else str(year)
    ax.set_title(f"Probability of deficit by region and segment ({when})", fontsize=11)
    return fig


def pd_is_degenerate(ds: xr.Dataset, year: int | None = None, compartment: str | None = None) -> bool:
    """True when every simulation (or none) is in deficit in ``year``: the running probability is then a
    flat line at 0 or 1 and says nothing about convergence."""
    year = int(ds["year"].values[-1]) if year is None else int(year)
    s = _surplus(ds, compartment or default_compartment(ds)).sel(year=year).values
    p = float(np.mean(s < 0))
    return p in (0.0, 1.0)


def convergence_plot(ds: xr.Dataset, year: int | None = None, compartment: str | None = None) -> Figure:
    """Running P(deficit) against the number of simulations with a +-2 SE band (default: last year, whole
    fund). When the probability is 0 or 1 in every simulation (:func:`pd_is_degenerate`), the running mean of
    the fund result with its +-2 SE band is drawn instead, and the figure says why."""
    year = int(ds["year"].values[-1]) if year is None else int(year)
    compartment = compartment or default_compartment(ds)
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    if pd_is_degenerate(ds, year, compartment):
        s = _surplus(ds, compartment).sel(year=year).sortby("sim").values / TRILLION
        k = np.arange(1, s.size + 1)
        mean = np.cumsum(s) / k
        var = np.maximum(np.cumsum(s ** 2) / k - mean ** 2, 0.0) * k / np.maximum(k - 1, 1)
        se = np.sqrt(var / k)
        ax.fill_between(k[1:], (mean - 2 * se)[1:], (mean + 2 * se)[1:], color="tab:blue", alpha=0.25,
                        label="+-2 standard errors")
        ax.plot(k, mean, color="tab:blue", lw=1.5, label="running mean fund result")
        ax.axhline(mean[-1], color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.set_ylabel("mean fund result [IDR trillion]")
        word = "in deficit" if np.all(s < 0) else "in surplus"
        ax.set_title(f"Convergence of the mean fund result, {year}, {_label(compartment)}\n"
                     f"P(deficit) = {'100%' if word == 'in deficit' else '0%'}: all {s.size:,} simulations are "
                     f"{word}, so the running mean is shown instead", fontsize=10)
    else:
        c = pd_convergence(ds, year, compartment)
        n, p, se = c["n"].values, c["p_deficit"].values, c["p_deficit_se"].values
        lo, hi = np.clip(p - 2 * se, 0, 1), np.clip(p + 2 * se, 0, 1)
        ax.fill_between(n, lo, hi, color="tab:blue", alpha=0.25, label="+-2 standard errors")
        ax.plot(n, p, color="tab:blue", lw=1.5, label="running P(deficit)")
        ax.axhline(p[-1], color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        # the axis follows the band once a few simulations are in (a P near 0 or 1 would sit on the frame)
        first = min(n.size - 1, 19)
        bottom, top = float(lo[first:].min()), float(hi[first:].max())
        pad = max(0.02, 0.1 * (top - bottom))
        bottom, top = max(0.0, bottom - pad), min(1.0, top + pad)
        margin = 0.02 * (top - bottom)  # a running P of exactly 0 or 1 stays off the frame
        ax.set_ylim(bottom - margin, top + margin)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_ylabel("P(deficit)")
        ax.set_title(f"Convergence of the probability of deficit, {year}, {_label(compartment)}")
    ax.set_xlabel("number of simulations")
    ax.legend(fontsize=8, loc="best")
    return fig
