"""Print the README's result tables (Markdown) from the stores and reports that
``scripts/make_readme_results.sh`` writes under results/: nothing in them is typed by hand.

    python scripts/readme_tables.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RES = ROOT / "results"


def pct(p, se=None):
    return f"{p:.1%}" + (f" (±{se:.1%})" if se is not None else "")


def tn(x):
    return f"{x / 1e12:,.2f}"


def main_job() -> str:
    m = json.loads((RES / "jkn2024_report" / "fund_measures.json").read_text())
    ds = None
    try:
        import xarray as xr  # months of claims quantiles from the store
        from jkn_risk.results import open_results

        ds = open_results(RES / "jkn2024.zarr")
        net = ds["net_assets"].sum("compartment").load()
        months = (12.0 * net / ds["fund_medical_cost"].sum("compartment")).load()
        del xr
    except Exception:  # noqa: BLE001 - the store is optional here
        months = None
    rows = ["| year | P(net assets < 0) | first depletion in this year | months of claims: 5% / median / 95% | P(months < 1.5) |",
            "|---|---|---|---|---|"]
    dep = dict(zip(m["depletion"]["year"], zip(m["depletion"]["probability"], m["depletion"]["se"])))
    for i, y in enumerate(m["years"]):
        q = (" / ".join(f"{v:.2f}" for v in np.quantile(months.sel(year=y).values, [0.05, 0.5, 0.95]))
             if months is not None else "")
        rows.append(f"| {y} | {pct(m['p_negative'][i], m['p_negative_se'][i])} | {pct(*dep[y])} | {q} | "
                    f"{pct(m['p_months_below_1_5'][i], m['p_months_below_1_5_se'][i])} |")
    p, se = dep["not within horizon"]
    rows.append(f"\nNot depleted by {m['years'][-1]}: {pct(p, se)} ({m['n_sims']:,} simulations).")
    return "\n".join(rows)


def baseline_2014() -> str:
    r = pd.DataFrame(json.loads((RES / "jkn2014_report" / "risk_measures.json").read_text()))
    r = r[r["compartment"] == r["compartment"].iloc[0]]
    rows = ["| year | P(deficit) | mean fund result [T IDR] | claim ratio 5% / 50% / 95% | parameter share of variance |",
            "|---|---|---|---|---|"]
    for _, x in r.iterrows():
        rows.append(f"| {int(x.year)} | {pct(x.p_deficit, x.p_deficit_se)} | {tn(x.surplus_mean)} (±{x.surplus_mean_se / 1e12:.2f}) | "
                    f"{x['claim_ratio_q0.05']:.1%} / {x['claim_ratio_q0.5']:.1%} / {x['claim_ratio_q0.95']:.1%} | "
                    f"{x.parameter_share:.1%} |")
    return "\n".join(rows)


def stress_2024() -> str:
    f = pd.DataFrame(json.loads((RES / "stress2024" / "stress_fund.json").read_text()))
    last = max(int(k.rsplit("_", 1)[1]) for k in f.columns if k.startswith("p_depleted_by_") and k[-1].isdigit())
    dep, keep = f"p_depleted_by_{last}", f"p_months_ge_1.5_through_{last}"
    rows = [f"| scenario | P(net assets < 0 by {last}) | Δ vs base (paired SE) | P(months ≥ 1.5 every year to {last}) | Δ vs base (paired SE) |",
            "|---|---|---|---|---|"]
    for _, x in f.iterrows():
        rows.append(f"| {x.scenario} | {pct(x[dep], x[dep + '_se'])} | {x[dep + '_diff']:+.1%} (±{x[dep + '_diff_se']:.1%}) | "
                    f"{pct(x[keep], x[keep + '_se'])} | {x[keep + '_diff']:+.1%} (±{x[keep + '_diff_se']:.1%}) |")
    return "\n".join(rows)


def stress_2018() -> str:
    s = pd.DataFrame(json.loads((RES / "stress2018" / "stress.json").read_text()))
    s = s[s["year"].astype(str).str.isdigit()]
    last = s["year"].astype(int).max()
    s = s[s["year"].astype(int) == last]
    comps = [c for c in s["compartment"].unique() if c != "national"]
    seg = [c for c in comps if not c.startswith("R")]
    rows = [f"| scenario | Δ mean fund result, national [T IDR] (SE) | P(deficit) national | "
            + " | ".join(f"P(deficit) {c}" for c in seg) + " |", "|---" * (3 + len(seg)) + "|"]
    for name, g in s.groupby("scenario", sort=False):
        g = g.set_index("compartment")
        n = g.loc["national"]
        rows.append(f"| {name} | {n.mean_surplus_diff / 1e12:+.2f} ({n.mean_surplus_diff_se / 1e12:.3f}) | "
                    f"{pct(n.p_deficit)} | " + " | ".join(pct(g.loc[c].p_deficit) for c in seg) + " |")
    return f"Year {last}:\n\n" + "\n".join(rows)


if __name__ == "__main__":
    for title, fn in (("main job (jkn2024)", main_job), ("2014 baseline", baseline_2014),
                      ("2024 stress pack", stress_2024), ("2018 stress pack", stress_2018)):
        print(f"### {title}\n\n{fn()}\n")
