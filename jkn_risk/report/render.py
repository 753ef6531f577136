"""The risk report: PNG figures, ``report.md`` and a self-contained ``report.html`` (figures embedded).

Markdown is converted with ``markdown-it-py`` (a dependency of ``rich``), tables enabled.

Words: the report's amounts are the *fund result* (contributions - medical cost - administration, as borne
by the fund); ``jkn-risk project`` reports the *contribution surplus* (contributions - medical cost, before
administration, the paper's saldo). The two are never both called "surplus".
"""
from __future__ import annotations

import base64
import html
import json as _json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from markdown_it import MarkdownIt

from . import fund_plots, plots
from .coverage_report import NATIONAL, UHC_TARGET, coverage_measures, save_coverage_figures
from .fund_metrics import fund_measures_frame, fund_risk_measures
from .metrics import BOOT_SEED, LEVELS, N_BOOT, TOTAL, _order_index, risk_measures, to_frame, to_json

__all__ = ["render_report", "md_table", "md_to_html", "header_lines", "save_figure", "fmt_pct", "fmt_tn",
           "appendix_yaml"]

#: What ``jkn-risk sensitivity`` (:mod:`jkn_risk.report.sensitivity`, listed below this module) writes into a
#: report folder and :func:`render_report` takes in: its records and the run report's attribution section.
SENSITIVITY_JSON, SENSITIVITY_SECTION = "sensitivity.json", "sensitivity_section.md"
#: The run report's files, and the heading of its methods section, before which later sections go (the
#: attribution section, also when :func:`jkn_risk.report.sensitivity.join_report` adds it afterwards).
REPORT_MD, REPORT_HTML = "report.md", "report.html"
METHODS_HEADING = "## Definitions and methods"

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}table{border-collapse:collapse;margin:.8em 0;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}img{max-width:100%}code,pre{background:#f6f6f6}
pre{padding:.6em;overflow-x:auto;font-size:.8em}h1,h2,h3{color:#1a3d6d}"""


def fmt_pct(p: float, se: float | None = None, sign: bool = False) -> str:
    """``45.0% (±3.5%)`` (``+45.0%`` with ``sign``); empty for NaN."""
    if p is None or not np.isfinite(p):
        return ""
    s = f"{p:+.1%}" if sign else f"{p:.1%}"
    return s if se is None or not np.isfinite(se) else f"{s} (±{se:.1%})"


def fmt_tn(x: float, se: float | None = None, digits: int = 2, sign: bool = False) -> str:
    """An IDR amount in trillion, ``-1.23 (±0.05)``; empty for NaN."""
    if x is None or not np.isfinite(x):
        return ""
    v = round(x / plots.TRILLION, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    s = f"{v:{'+' if sign else ''},.{digits}f}"
    return s if se is None or not np.isfinite(se) else f"{s} (±{se / plots.TRILLION:,.{digits}f})"


def md_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of a frame of already formatted strings (index dropped)."""
    cols = [str(c) for c in df.columns]
    rows = [" | ".join(cols), " | ".join(["---"] * len(cols))]
    rows += [" | ".join(str(v).replace("|", "\\|") for v in r) for r in df.itertuples(index=False)]
    return "\n".join(f"| {r} |" for r in rows) + "\n"


def md_to_html(md: str, title: str, base_dir: Path | None = None) -> str:
    """Render Markdown to a standalone HTML page; ``<img src="x.png">`` files found in ``base_dir`` are
    embedded as base64 data URIs."""
    body = MarkdownIt("commonmark").enable("table").render(md)
    if base_dir is not None:
        def embed(m: re.Match) -> str:
            path = Path(base_dir) / m.group(1)
            if not path.is_file():
                return m.group(0)
            return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'
        body = re.sub(r'src="([^":]+\.png)"', embed, body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}</body></html>\n")


def header_lines(ds: xr.Dataset) -> list[str]:
    """Markdown bullet lines describing the run: config, seed, simulations, compartments, versions."""
    a = ds.attrs
    lines = [f"- **Configuration:** `{a.get('config_name', 'unknown')}`",
             f"- **Seed:** {a.get('seed', '?')} · **simulations:** {ds.sizes.get('sim', a.get('n_sims', '?')):,}"
             f" · **block size:** {a.get('block_size', '?')}",
             "- **Fund compartments:** " + (f"{a['compartments']}: " if a.get("compartments") else "")
             + ", ".join(str(c) for c in ds["compartment"].values),
             f"- **Projection years:** {int(ds['year'].values[0])}-{int(ds['year'].values[-1])}"]
    versions = {k.removeprefix("version_"): v for k, v in a.items() if k.startswith("version_")}
    if versions:
        lines.append("- **Versions:** " + " · ".join(f"{k} {v}" for k, v in versions.items()))
    if "created" in a:
        lines.append(f"- **Results created:** {a['created']}")
    return lines


def save_figure(fig, path: Path, dpi: int = 150) -> Path:
    """Write a figure as PNG and return its path."""
    fig.savefig(path, dpi=dpi)
    return path


def _compartment_tables(df: pd.DataFrame, comp: str) -> str:
    d = df[df["compartment"] == comp].sort_values("year")
    a = pd.DataFrame({
        "year": d["year"].astype(int),
        "P(deficit)": [fmt_pct(p, s) for p, s in zip(d["p_deficit"], d["p_deficit_se"])],
        "mean fund result": [fmt_tn(m, s) for m, s in zip(d["surplus_mean"], d["surplus_mean_se"])],
        "std. dev.": [fmt_tn(x) for x in d["surplus_std"]],
        **{f"{100 * q:g}%": [fmt_tn(x) for x in d[f"surplus_q{q:g}"]] for q in (0.005, 0.05, 0.5, 0.95, 0.995)},
    })
    b = {"year": d["year"].astype(int)}
    for lv in LEVELS:
        t = f"{100 * lv:g}"
        b[f"VaR {t}%"] = [fmt_tn(x, s) for x, s in zip(d[f"deficit_var_{t}"], d[f"deficit_var_se_{t}"])]
        b[f"TVaR {t}%"] = [fmt_tn(x, s) for x, s in zip(d[f"deficit_tvar_{t}"], d[f"deficit_tvar_se_{t}"])]
    b["claim ratio, median (5-95%)"] = [f"{fmt_pct(m)} ({fmt_pct(lo)}-{fmt_pct(hi)})" for m, lo, hi in
                                         zip(d["claim_ratio_q0.5"], d["claim_ratio_q0.05"], d["claim_ratio_q0.95"])]
    b["parameter share of variance"] = [fmt_pct(x) for x in d["parameter_share"]]
    title = "Whole fund (sum of all compartments)" if comp == TOTAL else f"Compartment {comp}"
    return (f"### {title}\n\nFund result (IDR trillion; quantiles of the result; Monte Carlo standard errors "
            f"in brackets):\n\n"
            f"{md_table(a)}\nDeficit (IDR trillion; negative = still a surplus at that level) and claim ratio:\n\n"
            f"{md_table(pd.DataFrame(b))}\n")


def _summary(df: pd.DataFrame, year: int) -> str:
    d = df[df["year"] == year]
    t = pd.DataFrame({
        "compartment": d["compartment"],
        "P(deficit)": [fmt_pct(p, s) for p, s in zip(d["p_deficit"], d["p_deficit_se"])],
        "mean fund result [IDR tn]": [fmt_tn(m, s) for m, s in zip(d["surplus_mean"], d["surplus_mean_se"])],
        "VaR 99.5% [IDR tn]": [fmt_tn(x, s) for x, s in zip(d["deficit_var_99.5"], d["deficit_var_se_99.5"])],
        "median claim ratio": [fmt_pct(x) for x in d["claim_ratio_q0.5"]],
    })
    return md_table(t)


_METHODS = METHODS_HEADING + """

- **Fund result** (a surplus when positive) = contribution income − medical cost (INA-CBG claims + non-CBG
  cost) − administration, as borne by the fund after any regional-government share of deficits. **Deficit
  (loss)** = −fund result. Not the *contribution surplus* of `jkn-risk project` (contributions − medical cost,
  before administration, the paper's saldo).
- **Probability of deficit** P(fund result < 0); standard error √(p(1−p)/n). Where no simulation (or every one) is
  in deficit this is 0; the probability is then below 3/n (or above 1 − 3/n) with 95% confidence.
- **VaR** at level a: the empirical a-quantile of the deficit (order statistic ⌈na⌉). **TVaR** (expected
  shortfall): VaR + E[(deficit − VaR)⁺]/(1 − a), the mean deficit in the worst (1 − a) of simulations.
- Standard errors of VaR and TVaR: bootstrap over simulations ({n_boot} resamples of whole simulations, fixed
  seed {seed}); of the mean: standard deviation/√n.
- **Claim ratio** = medical cost / contribution income.
- **Parameter share of variance**: Var(E[result | parameters]) / (that + E[Var(result | parameters)]); the
  conditional mean is computed exactly by the deterministic projection for each simulation's parameters (IBNR
  factor, trend shocks), so the share says how much of the spread comes from parameter uncertainty rather than
  from the randomness of claims. Computed on the fund result before any regional-government share.
- The region × segment heatmap uses the fund result of each region-segment cell before compartments and
  shares, cumulated over all projection years.
"""


def _display_path(value: str) -> str:
    """A path as the reader can use it: relative to the working folder when under it, else its last two
    parts (never this machine's absolute path)."""
    p = Path(value)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(Path("...", *p.parts[-2:]))


def _schema_order() -> list[str]:
    from jkn_risk.schema import Config

    return list(Config.model_fields)


def appendix_yaml(text: str) -> str:
    """The resolved configuration for the appendix: keys in the schema's order (name and years first),
    absolute file paths shown relative to the working folder."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if not isinstance(data, dict):
        return text

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, str) and x.startswith("/") and Path(x).suffix:
            return _display_path(x)
        return x

    class Dumper(yaml.SafeDumper):  # lists of plain values on one line: [2014, 2015, ...]
        pass

    def flow_lists(dumper, seq):
        flat = all(not isinstance(v, (dict, list)) for v in seq)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", seq, flow_style=flat)

    def flow_maps(dumper, mapping):  # {R1: 3.239, R2: 3.333, ...} on one line when short and flat
        flat = len(mapping) <= 8 and all(not isinstance(v, (dict, list)) for v in mapping.values())
        return dumper.represent_mapping("tag:yaml.org,2002:map", mapping.items(), flow_style=flat)

    Dumper.add_representer(list, flow_lists)
    Dumper.add_representer(dict, flow_maps)
    order = {k: i for i, k in enumerate(_schema_order())}
    data = dict(sorted(walk(data).items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


def _fund_section(fund_ds: xr.Dataset, out: Path) -> tuple[list[Path], str, dict]:
    """The fund's balance: risk measures per year, the first depletion year, three figures (at
    :func:`~jkn_risk.report.fund_plots.save_fund_figures`' own resolution)."""
    m = fund_risk_measures(fund_ds)
    df = fund_measures_frame(m)
    t = pd.DataFrame({
        "year": df["year"],
        "P(net assets < 0)": [fmt_pct(p, s) for p, s in zip(df["p_negative"], df["p_negative_se"])],
        "P(depleted by year end)": [fmt_pct(p, s) for p, s in zip(df["p_depleted_by"],
                                                                    df["p_depleted_by_se"])],
        "P(months of claims < 1.5)": [fmt_pct(p, s) for p, s in zip(df["p_months_below_1_5"],
                                                                      df["p_months_below_1_5_se"])],
        "P(months of claims > 6)": [fmt_pct(p, s) for p, s in zip(df["p_months_above_6"],
                                                                    df["p_months_above_6_se"])],
        f"VaR {100 * m['level']:g}% of -net assets [IDR tn]": [fmt_tn(x, s) for x, s in
                                                             zip(df["var"], df["var_se"])],
        f"TVaR {100 * m['level']:g}% [IDR tn]": [fmt_tn(x, s) for x, s in zip(df["tvar"], df["tvar_se"])],
    })
    dep = m["depletion"]
    d = pd.DataFrame({"first year with net assets < 0": [str(y) for y in dep["year"]],
                      "probability": [fmt_pct(p, s) for p, s in zip(dep["probability"], dep["se"])]})
    paths = fund_plots.save_fund_figures(fund_ds, out)
    figs = "".join(f"![{p.stem}]({p.name})\n\n" for p in paths)
    md = ("## The fund's balance\n\nNet assets carried from year to year (opening net assets, "
          "contributions, medical and administration cost, investment income, injections and the "
          "management rules of the config). Months of claims = 12 x net assets at year end / medical "
          "cost of the year; PP 84/2015 asks for 1.5 to 6. Monte Carlo standard errors in brackets.\n\n"
          f"{md_table(t)}\nFirst depletion year (the first year end with negative net assets, even if "
          f"the fund recovers later):\n\n{md_table(d)}\n{figs}")
    return paths, md, m


def _coverage_section(cov_ds: xr.Dataset, out: Path, dpi: int) -> tuple[list[Path], str]:
    """Active coverage (seed 003): national table by year, regional means, the fan charts, JSON."""
    df = coverage_measures(cov_ds, (UHC_TARGET,))
    p, t = f"p_ge_{UHC_TARGET:g}", f"{100 * UHC_TARGET:g}%"
    nat = df[df["area"] == NATIONAL]
    a = pd.DataFrame({
        "year": nat["year"],
        "mean": [fmt_pct(m, s) for m, s in zip(nat["mean"], nat["mean_se"])],
        "median (5-95%)": [f"{fmt_pct(m)} ({fmt_pct(lo)}-{fmt_pct(hi)})" for m, lo, hi in
                           zip(nat["q0.5"], nat["q0.05"], nat["q0.95"])],
        f"P(active coverage ≥ {t})": [fmt_pct(x, s) for x, s in zip(nat[p], nat[f"{p}_se"])],
    })
    reg = df[df["area"] != NATIONAL]
    b = reg.pivot(index="year", columns="area", values="mean").reset_index()
    b = pd.DataFrame({"year": b["year"], **{f"mean {r}": [fmt_pct(x) for x in b[r]]
                                            for r in b.columns if r != "year"}})
    pr = reg.pivot(index="year", columns="area", values=p)
    b[f"regions with P(≥ {t}) > 0"] = [", ".join(str(r) for r in pr.columns if pr.loc[y, r] > 0) or "none"
                                       for y in pr.index]
    paths = save_coverage_figures(cov_ds, out, dpi)
    json_path = out / "coverage_measures.json"
    json_path.write_text(df.to_json(orient="records", indent=1), encoding="utf-8")
    md = ("## Active coverage (seed 003)\n\nActive coverage = active JKN members / population: a member is "
          "active when the contribution is paid (by a budget, an employer or the member), i.e. registered "
          "members x the segment's drawn collection (paid-share) rate, the same rate that drives contribution "
          "income. The population is the config's deterministic table; national coverage is all active members "
          f"over the whole population. Monte Carlo standard errors in brackets; {t} is the UHC target"
          + (f" (0.0% (±0.0%): no simulation reaches it, so P < 3/n = {3 / cov_ds.sizes['sim']:.1%} with 95% "
             "confidence)" if (nat[p] == 0).any() else "") + ".\n\n"
          f"{md_table(a)}\nBy region (mean active coverage; a region's members are the configured regional "
          "split, so regional figures are only as good as that split and the province -> region mapping of "
          f"the population table):\n\n{md_table(b)}\n"
          + "".join(f"![{q.stem}]({q.name})\n\n" for q in paths))
    return paths + [json_path], md


def render_report(ds: xr.Dataset, out_dir: str | Path, *, n_boot: int = N_BOOT, seed: int = BOOT_SEED,
                  dpi: int = 150) -> list[Path]:
    """Write the risk report of a results Dataset.

    Parameters
    ----------
    ds : xr.Dataset
        Results (see ``jkn_risk.results``); lazily opened Zarr is fine. With a ``scenario`` dimension the first
        scenario (the base) is reported; ``jkn_risk.report.stress.render_stress_report`` compares scenarios.
    out_dir : path
        Created if missing; existing files of the same names are replaced.
    n_boot, seed : int
        Bootstrap resamples and seed for the VaR/TVaR standard errors.
    dpi : int
        Resolution of the PNG figures.

    Returns
    -------
    list of Path
        The PNG figures, ``risk_measures.json``, ``report.md`` and ``report.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = ""
    if "scenario" in ds.dims:
        first = ds["scenario"].values[0]
        ds, note = ds.sel(scenario=first), f"\n> Scenario `{first}` of a stress dataset.\n"
    fund_vars = [v for v in ("net_assets", "months_of_claims", "fund_medical_cost") if v in ds]
    fund_ds = ds[fund_vars].compute() if "net_assets" in ds else None
    cov_ds = (ds[["active_coverage_national", "active_coverage"]].compute()
              if "active_coverage_national" in ds else None)
    keep = [v for v in ("surplus", "surplus_compartment", "income_compartment", "medical_cost_compartment",
                        "expected_surplus_compartment", "regional_government_share", "members") if v in ds]
    ds = ds[keep].compute()
    measures = risk_measures(ds, n_boot=n_boot, seed=seed)
    df = to_frame(measures)
    last = int(ds["year"].values[-1])
    comp = plots.default_compartment(ds)

    figures = [
        ("surplus_distribution.png", plots.surplus_distribution(ds),
         "Distribution of the fund result by year: one violin per year on its own scale (bar: median, line: "
         "5-95%; dashed: break-even where in range), P(deficit) above each."),
        ("claim_ratio_fan.png", plots.claim_ratio_fan(ds),
         "Claim ratio fan chart (5-95% and 25-75% bands, median)."),
        ("deficit_exceedance.png", plots.deficit_exceedance(ds),
         "Probability that the deficit exceeds x, by year (logarithmic scale; dotted: 5% and 0.5%)."),
    ]
    if "surplus" in ds:
        figures.append(("pd_region_segment.png", plots.pd_heatmap(ds),
                        "Probability of a cumulative deficit over the projection period by region and segment. "
                        f"{plots.REGION_NOTE}."))
    degenerate = plots.pd_is_degenerate(ds, last, comp)
    figures.append(("pd_convergence.png", plots.convergence_plot(ds, last, comp),
                    f"Convergence in {last} with the number of simulations (band: ±2 SE): "
                    + ("P(deficit) is 0 or 1 in every simulation, so the running mean fund result is shown."
                       if degenerate else "the running probability of deficit.")))
    paths = [save_figure(fig, out / name, dpi) for name, fig, _ in figures]

    json_path = out / "risk_measures.json"
    json_path.write_text(to_json(df), encoding="utf-8")

    n = ds.sizes["sim"]
    row = df[(df["year"] == last) & (df["compartment"] == comp)].iloc[0]
    md = [f"# JKN fund risk report: `{ds.attrs.get('config_name', 'unknown')}`\n", note, *header_lines(ds), "",
          "## Key result\n",
          f"In {last} {plots.describe(comp)} runs a deficit with "
          f"probability **{fmt_pct(row['p_deficit'], row['p_deficit_se'])}** (n = {n:,} simulations). "
          f"The mean fund result is IDR {fmt_tn(row['surplus_mean'], row['surplus_mean_se'])} trillion; "
          "the 99.5% value at risk of the deficit is IDR "
          f"{fmt_tn(row['deficit_var_99.5'], row['deficit_var_se_99.5'])}"
          f" trillion and the 99.5% TVaR IDR {fmt_tn(row['deficit_tvar_99.5'], row['deficit_tvar_se_99.5'])} "
          f"trillion. Median claim ratio {fmt_pct(row['claim_ratio_q0.5'])}.\n",
          *([f"> Only {beyond:,} of the {n:,} simulations {'lies' if beyond == 1 else 'lie'} beyond the 99.5% level "
             "(fewer than 10): "
              "the 99.5% VaR and TVaR and their standard errors are rough; 2,000 simulations or more give "
              "them a usable tail.\n"] if (beyond := n - 1 - _order_index(n, 0.995)) < 10 else []),
          f"## Summary, {last}\n", _summary(df, last), "## Figures\n"]
    for name, _, caption in figures:
        md.append(f"![{caption}]({name})\n\n*{caption}*\n")
    if fund_ds is not None:
        fund_paths, fund_md, fund_m = _fund_section(fund_ds, out)
        paths += fund_paths
        (out / "fund_measures.json").write_text(_json.dumps(fund_m, indent=2), encoding="utf-8")
        paths.append(out / "fund_measures.json")
        md.append(fund_md)
    if cov_ds is not None:
        cov_paths, cov_md = _coverage_section(cov_ds, out, dpi)
        paths += cov_paths
        md.append(cov_md)
    md.append("## Risk measures by compartment and year\n")
    comps = [str(c) for c in measures["compartment"].values]
    for c in ([TOTAL] if TOTAL in comps else []) + [c for c in comps if c != TOTAL]:
        md.append(_compartment_tables(df, c))
    attribution = out / SENSITIVITY_SECTION  # Sobol indices: `jkn-risk sensitivity` wrote here
    if (out / SENSITIVITY_JSON).is_file() and attribution.is_file():
        md.append(attribution.read_text(encoding="utf-8"))
    md.append(_METHODS.format(n_boot=n_boot, seed=seed))
    if ds.attrs.get("config_yaml"):
        md.append("## Appendix: resolved configuration\n\n```yaml\n"
                  f"{appendix_yaml(ds.attrs['config_yaml']).rstrip()}\n```\n")
    text = "\n".join(md)
    md_path, html_path = out / REPORT_MD, out / REPORT_HTML
    md_path.write_text(text, encoding="utf-8")
    html_path.write_text(md_to_html(text, f"JKN risk report {ds.attrs.get('config_name', '')}", out),
                         encoding="utf-8")
    return paths + [json_path, md_path, html_path]
