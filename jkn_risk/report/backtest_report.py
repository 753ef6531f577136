"""Back-test output: fan charts with the actuals, a PIT histogram, a Markdown summary, JSON.

Object-oriented matplotlib (no pyplot state); ``Figure.savefig`` renders with the Agg canvas.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .actuals import NATIONAL, VARIABLES
from .backtest import format_value

__all__ = ["fan_chart", "pit_histogram", "markdown", "write_outputs", "SCALE"]

#: variable -> (divisor, axis label) for the figures.
SCALE = {"income": (1e12, "IDR trillion"), "benefit_cost": (1e12, "IDR trillion"),
         "net_assets": (1e12, "IDR trillion"), "claim_ratio": (0.01, "%"),
         "members": (1e6, "million"), "income_pmpm": (1.0, "IDR pmpm"), "cost_pmpm": (1.0, "IDR pmpm")}
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")


def _panel_key(variable: str, compartment: str) -> tuple[int, str]:
    return list(VARIABLES).index(variable), compartment


def fan_chart(fans: list[dict], records: list[dict]) -> Figure:
    """One panel per (variable, compartment): each origin's 5-95% and 25-75% bands and median
    over its projection years, with the actuals as black points.

    Parameters
    ----------
    fans : list of dict
        ``score_actuals``'s third result, over every origin.
    records : list of dict
        ``score_actuals``'s records, over every origin.
    """
    panels = sorted({(f["variable"], f["compartment"]) for f in fans}, key=lambda k: _panel_key(*k))
    origins = sorted({f["origin"] for f in fans})
    n = max(len(panels), 1)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig = Figure(figsize=(5.2 * cols, 3.2 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax, (var, comp) in zip(axes, panels):
        div, unit = SCALE[var]
        for f in fans:
            if (f["variable"], f["compartment"]) != (var, comp):
                continue
            colour = _COLOURS[origins.index(f["origin"]) % len(_COLOURS)]
            x = np.asarray(f["years"])
            q = {k: np.asarray(v) / div for k, v in f["quantiles"].items()}
            ax.fill_between(x, q["q05"], q["q95"], color=colour, alpha=0.18, linewidth=0)
            ax.fill_between(x, q["q25"], q["q75"], color=colour, alpha=0.35, linewidth=0)
            ax.plot(x, q["q50"], color=colour, lw=1.5, label=f"model, origin {f['origin']}")
        seen = set()
        for r in records:  # one point per (year, value), even if several origins scored it
            if (r["variable"], r["compartment"]) == (var, comp) and (r["year"], r["actual"]) not in seen:
                seen.add((r["year"], r["actual"]))
                ax.plot(r["year"], r["actual"] / div, "o", color="black", ms=5, zorder=5,
                        label="actual" if len(seen) == 1 else None)
        where = "" if comp == NATIONAL else f" ({comp})"
        ax.set_title(f"{var}{where}", fontsize=10)
        ax.set_ylabel(unit)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Back-test: model 5-95% and 25-75% bands, median, and published actuals", fontsize=11)
    return fig


def pit_histogram(records: list[dict], bins: int = 10) -> Figure:
    """Histogram of the PITs, with the count a calibrated model expects per bin."""
    pits = np.array([r["pit"] for r in records], dtype=np.float64)
    fig = Figure(figsize=(5.5, 3.4), layout="constrained")
    ax = fig.subplots()
    edges = np.linspace(0.0, 1.0, bins + 1)
    ax.hist(pits, bins=edges, color="tab:blue", alpha=0.7, edgecolor="white")
    ax.axhline(pits.size / bins, color="black", ls="--", lw=1, label="uniform (calibrated)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT of the actual in the model's distribution")
    ax.set_ylabel("records")
    ax.set_title(f"PIT histogram ({pits.size} records; the records of one run are dependent)",
                 fontsize=10)
    ax.legend(fontsize=8)
    return fig


def markdown(result: dict) -> str:
    """A small Markdown summary of a back-test result (``records``, ``summary``, ``origins``)."""
    s, recs = result["summary"], result["records"]
    lines = ["# Back-test", ""]
    for o in result.get("origins", []):
        lines.append(f"- **Origin {o['year']}:** `{o['config']}`, {o['n_sims']:,} simulations"
                     + (f". {o['note']}" if o.get("note") else ""))
    lines.append(f"- **Actuals:** `{result.get('actuals', '')}`")
    c50, c90 = s["coverage_50"], s["coverage_90"]
    if s["n_records"]:
        lines.append(f"- **Coverage:** central 50% band {c50['covered']}/{c50['n']}, central 90% band "
                     f"{c90['covered']}/{c90['n']} (nominal 50% and 90%; binomial SE "
                     f"{100 * c90['binomial_se']:.0f} points at 90%); mean PIT {s['mean_pit']:.3f}")
    lines += ["", "| origin | year | variable | actual | q05 | q50 | q95 | PIT | in 50% | in 90% | CRPS |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        v = r["variable"] + ("" if r["compartment"] == NATIONAL else f" ({r['compartment']})")
        f = lambda x, var=r["variable"]: format_value(var, x)  # noqa: E731
        lines.append(f"| {r['origin']} | {r['year']} | {v} | {f(r['actual'])} | {f(r['q05'])} | "
                     f"{f(r['q50'])} | {f(r['q95'])} | {r['pit']:.3f} | {'yes' if r['covered_50'] else 'no'} | "
                     f"{'yes' if r['covered_90'] else 'no'} | {f(r['crps'])} |")
    if s["skipped"]:
        lines += ["", "Not scored:"]
        lines += [f"- {k['variable']} {k['year']} (origin {k['origin']}, {k['source']}): {k['reason']}"
                  for k in s["skipped"]]
    if s["notes"]:
        lines += ["", "Notes:"] + [f"- {n}" for n in s["notes"]]
    lines += ["", "CRPS: scoringrules' fair ensemble estimator, in the variable's units (IDR totals in "
              "trillions above). PIT: mid-rank of the actual among the simulations.", "",
              "![fan charts](backtest_fan.png)", "", "![PIT histogram](backtest_pit.png)", ""]
    return "\n".join(lines)


def write_outputs(folder: str | Path, result: dict) -> list[Path]:
    """Write ``backtest.json``, ``backtest.md``, ``backtest_fan.png`` and ``backtest_pit.png``.

    Parameters
    ----------
    folder : path-like
        Created if missing.
    result : dict
        ``records``, ``summary``, ``fans``, ``origins`` and ``actuals`` (see the CLI).

    Returns
    -------
    list of Path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "backtest.json", folder / "backtest.md", folder / "backtest_fan.png",
             folder / "backtest_pit.png"]
    paths[0].write_text(json.dumps({k: result[k] for k in ("records", "summary")}, indent=1) + "\n")
    paths[1].write_text(markdown(result))
    fan_chart(result["fans"], result["records"]).savefig(paths[2], dpi=110)
    pit_histogram(result["records"]).savefig(paths[3], dpi=110)
    return paths
