"""Stress-test comparison: scenarios against the base, with paired (common random numbers) standard errors.

A stress dataset carries a leading ``scenario`` dimension (first entry ``"base"``). All scenarios ran with the
same seed, so simulation ``i`` of every scenario drew the same random numbers, and a difference is measured on
the per-simulation differences ``X_i - B_i``: its standard error ``sd(X - B)/sqrt(n)`` is much smaller than the
unpaired ``sqrt(se_X^2 + se_B^2)`` when the two are correlated. For the 99.5% VaR the difference's standard
error is a paired bootstrap over simulations (the same resample for both scenarios).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from .coverage_report import UHC_TARGET
from .fund_metrics import MIN_MONTHS
from .metrics import BOOT_SEED, N_BOOT, TOTAL, bootstrap_var_tvar, to_json, var_tvar, with_total
from .plots import TRILLION
from .render import fmt_pct, fmt_tn, header_lines, md_table, md_to_html, save_figure

__all__ = ["compare_scenarios", "compare_fund", "compare_coverage", "tornado_chart",
           "pd_comparison_chart", "render_stress_report", "to_json"]

VAR_LEVEL = 0.995


def _select_year(s: xr.DataArray, year) -> xr.DataArray:
    """(scenario, sim, year, compartment) -> same with the requested year(s); year labels may become str."""
    if year == "all":
        return s
    if year == "last":
        return s.isel(year=[-1])
    if year == "cumulative":
        y = s["year"].values
        return s.sum("year", skipna=True, min_count=1).expand_dims(year=[f"{int(y[0])}-{int(y[-1])}"])
    return s.sel(year=[int(year)])


def compare_scenarios(ds: xr.Dataset, year: int | str = "last", *, n_boot: int = N_BOOT,
                      seed: int = BOOT_SEED) -> pd.DataFrame:
    """Probability of deficit, mean surplus and 99.5% VaR of the deficit per scenario and compartment, with
    their differences from the base and the Monte Carlo standard errors of those differences.

    Parameters
    ----------
    ds : xr.Dataset
        Stress results: ``surplus_compartment`` (scenario, sim, year, compartment) [IDR], the first scenario (or
        the one named ``"base"``) being the base. Compartments absent from a scenario (NaN) are left out; the
        ``"total"`` compartment (sum over compartments) makes schemes comparable.
    year : int or {"last", "all", "cumulative"}
        One projection year (default: the last), every year (a ``year`` column per row), or the surplus
        cumulated over all projection years (``year`` = ``"2014-2019"``).
    n_boot, seed : int
        Bootstrap resamples and fixed seed for the VaR standard errors.

    Returns
    -------
    pd.DataFrame
        One row per scenario, year and compartment. Columns ``p_deficit`` ["1"], ``mean_surplus``, ``var_995``
        [IDR] (VaR of the deficit ``-surplus``), each with ``_se``, ``_diff`` (scenario - base), ``_diff_se``
        (paired, common random numbers) and ``_diff_se_unpaired`` (as if the runs were independent); ``n_sims``.
        The base rows have differences 0.
    """
    s = with_total(ds["surplus_compartment"])
    if "scenario" not in s.dims:
        s = s.expand_dims(scenario=["base"])
    s = _select_year(s, year).transpose("scenario", "year", "compartment", "sim")
    names = [str(x) for x in s["scenario"].values]
    b = names.index("base") if "base" in names else 0
    x = s.values.astype(np.float64)                               # (scen, year, comp, sim)
    n = x.shape[-1]
    bad = np.isnan(x).any(-1)
    bad_pair = bad | bad[b][None]
    x0 = np.where(bad[..., None], 0.0, x)
    base = np.broadcast_to(x0[b][None], x0.shape)

    def mean_se(v):
        return v.mean(-1), v.std(-1, ddof=1) / np.sqrt(n)

    res = {}
    ind, ind_b = (x0 < 0).astype(np.float64), (base < 0).astype(np.float64)
    p, p_se = ind.mean(-1), np.sqrt(ind.mean(-1) * (1 - ind.mean(-1)) / n)
    res["p_deficit"], res["p_deficit_se"] = p, p_se
    res["p_deficit_diff"], res["p_deficit_diff_se"] = mean_se(ind - ind_b)
    res["p_deficit_diff_se_unpaired"] = np.sqrt(p_se**2 + p_se[b][None] ** 2)
    m, m_se = mean_se(x0)
    res["mean_surplus"], res["mean_surplus_se"] = m, m_se
    res["mean_surplus_diff"], res["mean_surplus_diff_se"] = mean_se(x0 - base)
    res["mean_surplus_diff_se_unpaired"] = np.sqrt(m_se**2 + m_se[b][None] ** 2)
    # one resample of simulations serves every scenario, so the VaR difference keeps its pairing
    v = var_tvar(-x0, VAR_LEVEL)[0]
    reps = bootstrap_var_tvar(-x0, (VAR_LEVEL,), n_boot, seed)[..., 0, 0]            # (boot, scen, year, comp)
    v_se = reps.std(axis=0, ddof=1)
    res["var_995"], res["var_995_se"] = v, v_se
    res["var_995_diff"] = v - v[b][None]
    res["var_995_diff_se"] = (reps - reps[:, b][:, None]).std(axis=0, ddof=1)
    res["var_995_diff_se_unpaired"] = np.sqrt(v_se**2 + v_se[b][None] ** 2)

    idx = pd.MultiIndex.from_product([names, list(s["year"].values), [str(c) for c in s["compartment"].values]],
                                     names=["scenario", "year", "compartment"])
    df = pd.DataFrame({k: np.asarray(val, dtype=np.float64).ravel() for k, val in res.items()}, index=idx)
    for k in df.columns:
        mask = (bad if k in ("p_deficit", "p_deficit_se", "mean_surplus", "mean_surplus_se", "var_995",
                             "var_995_se") else bad_pair).ravel()
        df.loc[mask, k] = np.nan
    df = df[~bad.ravel()].reset_index()
    df.insert(3, "n_sims", n)
    df["year"] = [int(y) if isinstance(y, (int, np.integer)) else str(y) for y in df["year"]]
    return df


def _base_name(df: pd.DataFrame) -> str:
    names = list(dict.fromkeys(df["scenario"]))
    return "base" if "base" in names else names[0]


def _compartments(df: pd.DataFrame) -> list[str]:
    """The compartments of a comparison frame, ``"total"`` (the whole fund) first when present, then the
    others in the frame's order; the first is the one a single table or chart shows."""
    comps = list(dict.fromkeys(df["compartment"]))
    return ([TOTAL] if TOTAL in comps else []) + [c for c in comps if c != TOTAL]


def _pick(df: pd.DataFrame, compartment: str | None, year) -> tuple[pd.DataFrame, str, object]:
    compartment = compartment or _compartments(df)[0]
    years = list(dict.fromkeys(df["year"]))
    year = years[-1] if year is None else year
    return df[(df["compartment"] == compartment) & (df["year"] == year)], compartment, year


def tornado_chart(df: pd.DataFrame, compartment: str | None = None, year=None) -> Figure:
    """Tornado chart: change of the mean fund result against the base per scenario [IDR trillion], largest on
    top, with +-2 paired standard errors and the value written beside each bar (a zero change reads "+0.00",
    not an empty row). Colour-blind-safe colours: blue better, vermilion worse (Okabe-Ito).

    Parameters
    ----------
    df : pd.DataFrame
        Output of ``compare_scenarios``.
    compartment : str, optional
        Default ``"total"`` (the whole fund) when present, else the first compartment.
    year : optional
        A value of ``df["year"]``; default the last one.
    """
    d, compartment, year = _pick(df, compartment, year)
    d = d[d["scenario"] != _base_name(df)]
    d = d.assign(_abs=d["mean_surplus_diff"].abs()).sort_values("_abs")
    fig = Figure(figsize=(8, 0.45 * max(len(d), 2) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(d))
    val = d["mean_surplus_diff"].to_numpy() / TRILLION
    err = 2 * d["mean_surplus_diff_se"].to_numpy() / TRILLION
    ax.barh(y, val, xerr=err, capsize=3, color=np.where(val < 0, "#D55E00", "#0072B2"))
    span = max(float(np.nanmax(np.abs(val) + np.nan_to_num(err))) if len(val) else 0.0, 1e-9)
    for yi, v, e in zip(y, val, np.nan_to_num(err)):
        ax.text(v + np.copysign(e + 0.02 * span, v if v != 0 else 1.0), yi, f"{v:+,.2f}", va="center",
                ha="left" if v >= 0 else "right", fontsize=8)
    ax.set_xlim(min(0.0, float(np.nanmin(val - err)) if len(val) else 0.0) - 0.18 * span,
                max(0.0, float(np.nanmax(val + err)) if len(val) else 0.0) + 0.18 * span)
    ax.set_yticks(y, list(d["scenario"]))
    ax.axvline(0.0, color="0.2", lw=0.8)
    ax.set_xlabel("change of the mean fund result against the base [IDR trillion]")
    what = "whole fund" if compartment == TOTAL else f"compartment {compartment}"
    ax.set_title(f"Change of the mean fund result by scenario, {what}, {year}", fontsize=11)
    return fig


def pd_comparison_chart(df: pd.DataFrame, year=None, compartments: list[str] | None = None) -> Figure:
    """Grid of the probability of deficit, scenario (rows) x compartment (columns), for one year; each cell
    shows P(deficit) and its change against the base in percentage points, starred when the change exceeds
    two paired standard errors.

    Parameters
    ----------
    df : pd.DataFrame
        Output of ``compare_scenarios``.
    year : optional
        A value of ``df["year"]``; default the last one.
    compartments : list of str, optional
        Default: ``"total"`` first, then every compartment in the order of ``df``.
    """
    years = list(dict.fromkeys(df["year"]))
    year = years[-1] if year is None else year
    d = df[df["year"] == year]
    if compartments is None:
        compartments = _compartments(d)
    scen = list(dict.fromkeys(d["scenario"]))
    base = _base_name(df)
    grid = d.set_index(["scenario", "compartment"])
    p = np.full((len(scen), len(compartments)), np.nan)
    for i, sc in enumerate(scen):
        for j, c in enumerate(compartments):
            if (sc, c) in grid.index:
                p[i, j] = grid.loc[(sc, c), "p_deficit"]
    fig = Figure(figsize=(min(0.62 * len(compartments) + 3.2, 11.0), 0.5 * len(scen) + 1.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(p, vmin=0.0, vmax=1.0, cmap="cividis", aspect="auto")  # colour-blind safe
    for i, sc in enumerate(scen):
        for j, c in enumerate(compartments):
            if not np.isfinite(p[i, j]):
                continue
            text = f"{p[i, j]:.0%}"
            r = grid.loc[(sc, c)]
            if sc != base and np.isfinite(r["p_deficit_diff"]):
                star = "*" if abs(r["p_deficit_diff"]) > 2 * r["p_deficit_diff_se"] else ""
                text += f"\n{100 * r['p_deficit_diff']:+.0f} pp{star}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if p[i, j] < 0.55 else "black")
    ax.set_xticks(np.arange(len(compartments)), ["whole fund" if c == TOTAL else c for c in compartments],
                  rotation=30 if len(compartments) > 6 else 0, ha="right" if len(compartments) > 6 else "center")
    ax.set_yticks(np.arange(len(scen)), scen)
    fig.colorbar(im, ax=ax, label="P(deficit)")
    ax.set_title(f"Probability of deficit by scenario and compartment, {year}\n"
                 f"(change against {base}; * beyond 2 paired standard errors)", fontsize=10)
    return fig


def _diff_table(d: pd.DataFrame) -> str:
    t = pd.DataFrame({
        "scenario": d["scenario"],
        "P(deficit)": [fmt_pct(p, s) for p, s in zip(d["p_deficit"], d["p_deficit_se"])],
        "Δ P(deficit)": [fmt_pct(p, s, True) for p, s in zip(d["p_deficit_diff"], d["p_deficit_diff_se"])],
        "mean fund result": [fmt_tn(m, s) for m, s in zip(d["mean_surplus"], d["mean_surplus_se"])],
        "Δ mean fund result": [fmt_tn(m, s, 3, True)
                               for m, s in zip(d["mean_surplus_diff"], d["mean_surplus_diff_se"])],
        "VaR 99.5%": [fmt_tn(m, s) for m, s in zip(d["var_995"], d["var_995_se"])],
        "Δ VaR 99.5%": [fmt_tn(m, s, 3, True) for m, s in zip(d["var_995_diff"], d["var_995_diff_se"])],
    })
    return md_table(t)


def _by_compartment(df: pd.DataFrame) -> str:
    return "\n".join(f"### {'Whole fund' if c == TOTAL else f'Compartment {c}'}\n\n"
                     f"{_diff_table(df[df['compartment'] == c])}" for c in _compartments(df))


def _year_pivot(df: pd.DataFrame, compartment: str) -> str:
    d = df[df["compartment"] == compartment]
    cells = {(r.scenario, r.year): (fmt_pct(r.p_deficit) if r.scenario == _base_name(df)
                                    else f"{r.p_deficit:.1%} ({r.p_deficit_diff:+.1%})") for r in d.itertuples()}
    scen, years = list(dict.fromkeys(d["scenario"])), list(dict.fromkeys(d["year"]))
    t = pd.DataFrame({"scenario": scen, **{str(y): [cells.get((s, y), "") for s in scen] for y in years}})
    return md_table(t)


def _se(v: np.ndarray) -> float:
    """Standard error of the mean of ``v`` (n_sim,), ``sd / sqrt(n)``; NaN for one simulation."""
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


def _paired(x: np.ndarray, base: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the per-simulation difference ``x - base`` (n_sim,) (common random
    numbers: simulation ``i`` of both drew the same numbers)."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    return float(d.mean()), _se(d)


def compare_fund(ds: xr.Dataset) -> pd.DataFrame:
    """The whole fund's balance by scenario, paired against the base (first scenario).

    Per scenario: P(net assets < 0 at the end of each year), P(net assets < 0 at some year end by
    the last year), P(months of claims >= 1.5 at every year end), each with its binomial SE, and
    the change against the base with the SE of the paired difference (the per-simulation
    difference of the indicators, common random numbers), plus the mean final net assets.
    """
    net = ds["fund_net_assets"].transpose("scenario", "sim", "year").values
    months = ds["fund_months_of_claims"].transpose("scenario", "sim", "year").values
    years = [int(y) for y in ds["year"].values]
    n = net.shape[1]
    indicators = {f"p_negative_{y}": net[:, :, i] < 0 for i, y in enumerate(years)}
    indicators[f"p_depleted_by_{years[-1]}"] = (net < 0).any(axis=2)
    indicators[f"p_months_ge_{MIN_MONTHS:g}_through_{years[-1]}"] = (months >= MIN_MONTHS).all(axis=2)
    rows = []
    for k, name in enumerate(str(s) for s in ds["scenario"].values):
        row = {"scenario": name, "mean_final_net_assets": float(net[k, :, -1].mean()),
               "mean_final_net_assets_se": _se(net[k, :, -1])}
        for key, x in indicators.items():
            p = x[k].mean()
            row[key] = float(p)
            row[f"{key}_se"] = float(np.sqrt(p * (1 - p) / n))
            row[f"{key}_diff"], row[f"{key}_diff_se"] = _paired(x[k], x[0])
        rows.append(row)
    return pd.DataFrame(rows)


def compare_coverage(ds: xr.Dataset, target: float = UHC_TARGET) -> pd.DataFrame:
    """National active coverage by scenario and year, paired against the base (first scenario).

    Per scenario and year: the mean coverage and P(coverage >= ``target``), each with its SE,
    and the change against the base with the SE of the per-simulation differences (common random
    numbers). Coverage is a fraction (0.98 = 98%).

    Parameters
    ----------
    ds : xr.Dataset
        ``active_coverage_national`` (scenario, sim, year) [1].
    """
    c = ds["active_coverage_national"].transpose("scenario", "sim", "year").values.astype(np.float64)
    n = c.shape[1]
    hit = (c >= target).astype(np.float64)
    rows = []
    for k, name in enumerate(str(s) for s in ds["scenario"].values):
        for j, y in enumerate(int(y) for y in ds["year"].values):
            row = {"scenario": name, "year": y, "n_sims": n}
            for key, x in (("coverage_mean", c), (f"p_ge_{target:g}", hit)):
                row[key] = float(x[k, :, j].mean())
                row[f"{key}_se"] = _se(x[k, :, j])
                row[f"{key}_diff"], row[f"{key}_diff_se"] = _paired(x[k, :, j], x[0, :, j])
            rows.append(row)
    return pd.DataFrame(rows)


def _coverage_table(cov: pd.DataFrame, df_last: pd.DataFrame, last, target: float) -> str:
    """Change in national active coverage beside the change in the fund result (whole fund), ``last``."""
    c = cov[cov["year"] == last].set_index("scenario")
    comp = _compartments(df_last)[0]
    f = df_last[df_last["compartment"] == comp].set_index("scenario")
    p = f"p_ge_{target:g}"
    t = pd.DataFrame({
        "scenario": list(c.index),
        "Δ mean fund result [IDR tn]": [fmt_tn(f.loc[s, "mean_surplus_diff"], f.loc[s, "mean_surplus_diff_se"], 3, True)
                                    if s in f.index else "" for s in c.index],
        "active coverage": [fmt_pct(m, e) for m, e in zip(c["coverage_mean"], c["coverage_mean_se"])],
        "Δ active coverage (pp)": [fmt_pct(m, e, sign=True) for m, e in
                              zip(c["coverage_mean_diff"], c["coverage_mean_diff_se"])],
        f"P(≥ {100 * target:g}%)": [fmt_pct(m, e) for m, e in zip(c[p], c[f"{p}_se"])],
        "Δ P (pp)": [fmt_pct(m, e, sign=True) for m, e in zip(c[f"{p}_diff"], c[f"{p}_diff_se"])],
    })
    return md_table(t)


def _fund_table(f: pd.DataFrame, last: int) -> str:
    dep, keep = f"p_depleted_by_{last}", f"p_months_ge_{MIN_MONTHS:g}_through_{last}"
    t = pd.DataFrame({
        "scenario": f["scenario"],
        f"P(net assets < 0 by {last})": [fmt_pct(p, s) for p, s in zip(f[dep], f[f"{dep}_se"])],
        "Δ vs base (paired SE)": [fmt_pct(d, s, sign=True) for d, s in
                                  zip(f[f"{dep}_diff"], f[f"{dep}_diff_se"])],
        f"P(months of claims ≥ {MIN_MONTHS:g} every year to {last})": [
            fmt_pct(p, s) for p, s in zip(f[keep], f[f"{keep}_se"])],
        "Δ vs base (paired SE) ": [fmt_pct(d, s, sign=True) for d, s in
                                   zip(f[f"{keep}_diff"], f[f"{keep}_diff_se"])],
        f"mean net assets end {last} [IDR tn]": [fmt_tn(m, s) for m, s in
                                                  zip(f["mean_final_net_assets"],
                                                      f["mean_final_net_assets_se"])],
    })
    ok = f[(f[keep] - 2 * f[f"{keep}_se"] >= 0.95) & (f.index > 0)]["scenario"].tolist()
    verdict = (f"Scenarios keeping months of claims ≥ {MIN_MONTHS:g} through {last} with probability "
               f"at least 95% (2 SE): {', '.join(f'`{s}`' for s in ok)}." if ok else
               f"No scenario keeps months of claims ≥ {MIN_MONTHS:g} through {last} with probability "
               "95% (2 SE).")
    return md_table(t) + "\n" + verdict + "\n"


def render_stress_report(ds: xr.Dataset, out_dir: str | Path, *, n_boot: int = N_BOOT,
                         seed: int = BOOT_SEED, dpi: int = 150) -> list[Path]:
    """Write the stress report: ``stress_tornado.png``, ``stress_pd.png``, ``stress.json`` (every year),
    ``stress_report.md`` and ``stress_report.html``.

    Parameters
    ----------
    ds : xr.Dataset
        Stress results with a ``scenario`` dimension (first entry the base), sharing the seed.
    out_dir : path
        Created if missing.
    n_boot, seed : int
        Bootstrap resamples and seed for the VaR standard errors.
    dpi : int
        Resolution of the PNG figures.

    Returns
    -------
    list of Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fund = (compare_fund(ds[["fund_net_assets", "fund_months_of_claims"]].compute())
            if "fund_net_assets" in ds else None)
    cov = (compare_coverage(ds[["active_coverage_national"]].compute())
           if "active_coverage_national" in ds else None)
    ds = ds[["surplus_compartment"]].compute()
    df_all = compare_scenarios(ds, "all", n_boot=n_boot, seed=seed)
    df_cum = compare_scenarios(ds, "cumulative", n_boot=n_boot, seed=seed)
    last = df_all["year"].iloc[-1]
    df_last = df_all[df_all["year"] == last]
    paths = [save_figure(tornado_chart(df_last), out / "stress_tornado.png", dpi),
             save_figure(pd_comparison_chart(df_last), out / "stress_pd.png", dpi)]
    json_path = out / "stress.json"
    json_path.write_text(to_json(pd.concat([df_all, df_cum], ignore_index=True)), encoding="utf-8")
    scen = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else ["base"]
    rows = df_last[df_last["scenario"] != scen[0]]
    gain = (rows["mean_surplus_diff_se_unpaired"] / rows["mean_surplus_diff_se"]).replace(np.inf, np.nan)
    comp = _compartments(df_all)[0]
    md = [f"# JKN stress test: {len(scen) - 1} scenarios against `{scen[0]}`\n", *header_lines(ds), "",
          f"- **Scenarios:** {', '.join(f'`{s}`' for s in scen)}", "",
          "Every scenario ran with the base's seed, so simulation *i* of each scenario drew the same random "
          "numbers (common random numbers). Differences (Δ) are measured on the per-simulation differences "
          "and their Monte Carlo standard errors (in brackets) are those of the paired differences; the 99.5% "
          f"VaR difference uses a paired bootstrap over simulations ({n_boot} resamples, seed {seed}). Amounts "
          "in IDR trillion; the fund result is contributions − medical cost − administration, as borne by the "
          "fund; VaR is that of the deficit (−fund result).\n",
          "" if gain.dropna().empty else
          f"Pairing made the standard error of the change of the mean fund result {np.nanmedian(gain):.1f} times smaller "
          "than independent runs would have (median over scenarios and compartments).\n",
          f"## Change of the mean fund result and probability of deficit, {last}\n",
          "![Tornado chart](stress_tornado.png)\n", "![Probability of deficit by scenario](stress_pd.png)\n",
          f"## By compartment, {last}\n", _by_compartment(df_last),
          f"## Cumulative over {df_cum['year'].iloc[0]}\n", _by_compartment(df_cum),
          f"## Probability of deficit by year, {'whole fund' if comp == TOTAL else comp} "
          "(change against the base in brackets)\n", _year_pivot(df_all, comp)]
    if fund is not None:
        last_year = int(ds["year"].values[-1])
        md += [f"## The fund's balance to {last_year}\n",
               "Net assets carried year by year in each simulation (the config's `fund:` block and "
               "its management rules). Changes against the base are paired simulation by simulation.\n",
               _fund_table(fund, last_year)]
        fund_path = out / "stress_fund.json"
        fund_path.write_text(to_json(fund), encoding="utf-8")
        paths.append(fund_path)
    if cov is not None:
        md += [f"## Active coverage beside the fund result, {last}\n",
               "National active coverage (active members / population, seed 003) and its change against "
               "the base, beside the change of the mean fund result of the whole fund; changes paired simulation "
               "by simulation (standard errors in brackets).\n",
               _coverage_table(cov, df_last, last, UHC_TARGET)]
        cov_path = out / "stress_coverage.json"
        cov_path.write_text(to_json(cov), encoding="utf-8")
        paths.append(cov_path)
    text = "\n".join(md)
    md_path, html_path = out / "stress_report.md", out / "stress_report.html"
    md_path.write_text(text, encoding="utf-8")
    html_path.write_text(md_to_html(text, "JKN stress test", out), encoding="utf-8")
    return paths + [json_path, md_path, html_path]
