"""Attribution: which assumptions drive the deficit? First-order and total Sobol indices.

For each *stream group* (every uncertain driver of :mod:`jkn_risk.assumptions`, all of its years
together; ``"ibnr"``, the IBNR completion factors of every care type; ``"process"``, the
randomness of claims in the kernel) and each target (the national surplus and the national claim
ratio of a projection year), the share of the target's variance that the group explains alone
(``S1``) and with all its interactions (``ST``).

Pick-freeze on the keyed streams
--------------------------------
Every group draws from streams keyed by (seed, simulation, group, ...), and
:func:`jkn_risk.simulate.simulate_block` lets a group take the streams of other simulation ids.
With base sample size ``N`` and ``k`` groups:

* ``A``    = simulations ``0 .. N-1`` (the first ``N`` simulations of the run itself);
* ``B``    = simulations ``N .. 2N-1`` (every group on new streams, independent of ``A``);
* ``AB_i`` = ``A`` with group ``i`` alone re-keyed to the streams of ``N .. 2N-1``.

That is ``(k + 2) N`` simulations. Centring every output by the mean of all of them, the
estimators are those of ``SALib.analyze.sobol`` (:func:`SALib.analyze.sobol.first_order` and
:func:`~SALib.analyze.sobol.total_order`, called here on the engine's outputs)::

    V    = var(concat(f(A), f(B)))
    S1_i = mean(f(B) (f(AB_i) - f(A))) / V                 (Saltelli et al. 2010, their (b))
    ST_i = mean((f(A) - f(AB_i))^2) / (2 V)                (Jansen 1999; Saltelli et al. 2010 (f))

Confidence intervals: **percentile bootstrap over simulations**: base points ``j`` (the rows
``A_j, B_j, AB_ij``, kept together) are resampled with replacement ``n_boot`` times with
``numpy.random.Generator(PCG64(seed))``, the same resample for every group, target and year; the
interval is the ``(1 -/+ conf_level) / 2`` quantiles of the resampled estimates. The point
estimates equal ``SALib.analyze.sobol.analyze(..., calc_second_order=False)`` on the same
outputs; its own intervals are not used because they are a normal approximation
(``z`` times the bootstrap standard deviation, symmetric, possibly outside [0, 1]), it takes
one output at a time in SALib's interleaved sample layout, and it draws a new resample for
every output, so that intervals of different targets would not share their resample.

Correlated drivers (``uncertainty.correlation``): their yearly innovations are ``L z`` with ``L``
the lower Cholesky factor and ``z`` each driver's own standard normals. Re-keying driver ``i``
re-draws ``z_i``, which also moves every correlated driver listed after it. The indices then
attribute the *independent innovation sources* ``z_i``: the first listed driver carries the
common part, later ones only what is new in them, and the indices depend on the listed order.

The national surplus is ``surplus_compartment`` summed over compartments [IDR] (after any
regional-government share, before the fund's roll-forward); the claim ratio is medical cost over
contribution income, both summed over compartments [1].

Files (:func:`write_sensitivity`): ``sensitivity.json`` (one record per target and year),
``sensitivity.md``, ``sensitivity.png`` and ``sensitivity_section.md``, the section that the run
report in the same folder takes in (now, by :func:`join_report`, or when it is rendered later).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .metrics import BOOT_SEED
from .render import (METHODS_HEADING, REPORT_HTML, REPORT_MD, SENSITIVITY_JSON as JSON_NAME,
                     SENSITIVITY_SECTION as SECTION_NAME, md_table, md_to_html)

__all__ = ["TARGETS", "N_BOOT", "CONF_LEVEL", "JSON_NAME", "MARKDOWN_NAME", "FIGURE_NAME", "SECTION_NAME",
           "SobolResult",
           "stream_groups", "evaluation_count", "target_values", "pick_freeze", "sobol_estimates",
           "sobol_indices", "sensitivity_frame", "plot_sensitivity", "write_sensitivity", "report_section",
           "join_report"]

TARGETS = ("surplus", "claim_ratio")
N_BOOT = 1000
CONF_LEVEL = 0.95
MARKDOWN_NAME, FIGURE_NAME = "sensitivity.md", "sensitivity.png"
# JSON_NAME and SECTION_NAME (the run report's section) are render's: render_report reads them when present
_LABELS = {"surplus": "national surplus", "claim_ratio": "national claim ratio"}
_SECTION = "## Attribution: Sobol indices"
_CHUNK = 4_000_000  # floats per bootstrap chunk


# --------------------------------------------------------------------------- groups and targets
def stream_groups(run) -> tuple[str, ...]:
    """The groups with randomness of a prepared run: its active drivers (in the store's order),
    ``"ibnr"`` where a care type draws bootstrap completion factors, and ``"process"``."""
    ibnr = any(s is not None for s in run.params.ibnr_samples)
    return tuple(run.assumptions.active) + (("ibnr",) if ibnr else ()) + ("process",)


def evaluation_count(n: int, k: int) -> int:
    """Simulations needed for ``k`` groups at base sample size ``n``: ``(k + 2) n``."""
    return (k + 2) * n


def target_values(ds, targets: Sequence[str] = TARGETS, years: Sequence[int] | None = None) -> np.ndarray:
    """National targets of a block, ndarray(float64, (n_sim, n_target, n_year)).

    ``"surplus"`` [IDR]: ``surplus_compartment`` summed over compartments; ``"claim_ratio"`` [1]:
    ``medical_cost_compartment`` over ``income_compartment``, each summed over compartments.
    """
    sel = {} if years is None else {"year": list(years)}
    out = []
    for t in targets:
        if t == "surplus":
            v = ds["surplus_compartment"].sel(sel).sum("compartment")
        elif t == "claim_ratio":
            v = (ds["medical_cost_compartment"].sel(sel).sum("compartment")
                 / ds["income_compartment"].sel(sel).sum("compartment"))
        else:
            raise ValueError(f"unknown target {t!r} (known: {', '.join(TARGETS)})")
        out.append(v.transpose("sim", "year").values.astype(np.float64))
    return np.stack(out, axis=1)


# --------------------------------------------------------------------------- pick-freeze
def pick_freeze(evaluate: Callable[[np.ndarray, dict | None], np.ndarray], groups: Sequence[str], n: int,
                block: int = 256, progress: Callable[[int], None] | None = None):
    """Evaluate the pick-freeze design on keyed streams.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(sims, streams) -> ndarray(float64, (len(sims), ...))``: the outputs of
        simulations ``sims`` with group ``g`` drawing the streams of ``streams[g]`` (``None``: none
        re-keyed).
    groups : sequence of str
    n : int
        Base sample size ``N``.
    block : int
        Simulations per call of ``evaluate``.
    progress : callable, optional
        Called with the number of simulations done after every call.

    Returns
    -------
    yA, yB : ndarray(float64, (N, ...)); yAB : ndarray(float64, (k, N, ...))
        ``A`` = simulations ``0..N-1``, ``B`` = ``N..2N-1``, ``AB_i`` = ``A`` with group ``i``
        on the streams of ``N..2N-1``.
    """
    ids = np.arange(n, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(groups) + 2)]
    done = 0
    for lo in range(0, n, max(int(block), 1)):
        a = ids[lo:lo + block]
        calls = [(a, None), (a + n, None)] + [(a, {g: a + n}) for g in groups]
        for j, (sims, streams) in enumerate(calls):
            parts[j].append(np.asarray(evaluate(sims, streams), dtype=np.float64))
            done += sims.size
            if progress is not None:
                progress(done)
    y = [np.concatenate(p, axis=0) for p in parts]
    return y[0], y[1], np.stack(y[2:], axis=0)


def _estimate(yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S1 and ST (k, ...) of already centred outputs by SALib's estimators (axis 0: base points)."""
    from SALib.analyze.sobol import first_order, total_order

    with warnings.catch_warnings():  # constant outputs: SALib warns and returns 0 (NaN here)
        warnings.simplefilter("ignore", UserWarning)
        s1 = np.stack([first_order(yA, ab, yB) for ab in yAB])
        st = np.stack([total_order(yA, ab, yB) for ab in yAB])
    return s1, st


def sobol_estimates(yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray, *, n_boot: int = N_BOOT,
                    seed: int = BOOT_SEED, conf_level: float = CONF_LEVEL) -> dict[str, np.ndarray]:
    """First-order and total indices with percentile-bootstrap intervals.

    Parameters
    ----------
    yA, yB : ndarray(float64, (N, ...)); yAB : ndarray(float64, (k, N, ...))
        Outputs of :func:`pick_freeze`.
    n_boot : int
        Bootstrap resamples of the ``N`` base points (0: no intervals, NaN).
    seed : int
        Seed of the bootstrap's own generator (never the simulation's streams).
    conf_level : float
        Coverage of the intervals, in (0, 1).

    Returns
    -------
    dict
        ``S1``, ``ST`` (k, ...); ``S1_ci``, ``ST_ci`` (k, ..., 2) [lower, upper]; ``variance``
        and ``mean`` (...) of ``concat(f(A), f(B))``. NaN where the output is constant.
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1) (got {conf_level})")
    n = yA.shape[0]
    both = np.concatenate([yA, yB])
    variance, mean = np.var(both, axis=0), np.mean(both, axis=0)
    constant = np.ptp(both, axis=0) <= np.finfo(float).eps * np.maximum(np.abs(mean), 1.0)
    # standardised as SALib does (its estimators treat variances below machine epsilon as 0)
    centre = np.mean(np.concatenate([yA, yB, yAB.reshape((-1,) + yA.shape[1:])]), axis=0)
    scale = np.where(constant, 1.0, np.sqrt(variance))
    a, b, ab = (yA - centre) / scale, (yB - centre) / scale, (yAB - centre) / scale
    s1, st = _estimate(a, b, ab)
    k = yAB.shape[0]
    s1_ci = np.full(s1.shape + (2,), np.nan)
    st_ci = np.full(st.shape + (2,), np.nan)
    if n_boot > 0 and n > 1:
        rng = np.random.Generator(np.random.PCG64(seed))
        per = max(1, _CHUNK // max(1, n * int(np.prod(yA.shape[1:], dtype=np.int64)) * (k + 2)))
        bs1, bst = [], []
        for lo in range(0, n_boot, per):
            r = rng.integers(0, n, size=(n, min(per, n_boot - lo)))  # (N, chunk): base points
            x1, xt = _estimate(a[r], b[r], ab[:, r])                 # (k, chunk, ...)
            bs1.append(x1)
            bst.append(xt)
        q = [(1 - conf_level) / 2, (1 + conf_level) / 2]
        s1_ci = np.moveaxis(np.quantile(np.concatenate(bs1, axis=1), q, axis=1), 0, -1)
        st_ci = np.moveaxis(np.quantile(np.concatenate(bst, axis=1), q, axis=1), 0, -1)
    for x in (s1, st, s1_ci, st_ci):
        x[:, constant] = np.nan
    return {"S1": s1, "ST": st, "S1_ci": s1_ci, "ST_ci": st_ci, "variance": variance, "mean": mean}


# --------------------------------------------------------------------------- the engine
@dataclass(frozen=True, eq=False)
class SobolResult:
    """Sobol indices of the national targets per stream group.

    ``S1``, ``ST`` : ndarray(float64, (n_target, n_year, k)); ``S1_ci``, ``ST_ci`` the same with
    a trailing axis [lower, upper]; ``variance`` and ``mean`` (n_target, n_year) of the target
    over ``A`` and ``B`` [IDR^2 / IDR for the surplus, 1 for the claim ratio].
    """

    groups: tuple[str, ...]
    targets: tuple[str, ...]
    years: tuple[int, ...]
    n: int
    S1: np.ndarray
    S1_ci: np.ndarray
    ST: np.ndarray
    ST_ci: np.ndarray
    variance: np.ndarray
    mean: np.ndarray
    n_boot: int = N_BOOT
    seed: int = BOOT_SEED
    conf_level: float = CONF_LEVEL
    config_name: str = "unnamed"
    notes: tuple[str, ...] = ()

    @property
    def evaluations(self) -> int:
        return evaluation_count(self.n, len(self.groups))

    def records(self) -> list[dict]:
        """One JSON-ready record per target and year (``None`` for NaN)."""
        f = lambda x: None if not np.isfinite(x) else float(x)  # noqa: E731
        out = []
        for i, t in enumerate(self.targets):
            for j, y in enumerate(self.years):
                out.append({
                    "target": t, "year": int(y), "n": self.n, "evaluations": self.evaluations,
                    "conf_level": self.conf_level, "ci": f"percentile bootstrap, {self.n_boot} resamples",
                    "mean": f(self.mean[i, j]), "variance": f(self.variance[i, j]),
                    "indices": [{"driver": g, "S1": f(self.S1[i, j, k]),
                                 "S1_ci": [f(self.S1_ci[i, j, k, 0]), f(self.S1_ci[i, j, k, 1])],
                                 "ST": f(self.ST[i, j, k]),
                                 "ST_ci": [f(self.ST_ci[i, j, k, 0]), f(self.ST_ci[i, j, k, 1])]}
                                for k, g in enumerate(self.groups)]})
        return out

    def to_json(self) -> str:
        return json.dumps(self.records(), indent=1)


def _correlation_note(model, groups) -> tuple[str, ...]:
    names = [d for d in model.corr_drivers if d in groups]
    if len(names) < 2:
        return ()
    return (f"Correlated drivers ({', '.join(names)}): the indices attribute each driver's own "
            "standard-normal innovations; through the Cholesky factor, re-keying one also moves the "
            "drivers listed after it, so earlier drivers carry the shared part.",)


def sobol_indices(run, n: int, targets: Sequence[str] = TARGETS, years: Sequence[int] | None = None,
                  groups: Sequence[str] | None = None, n_boot: int = N_BOOT, seed: int = BOOT_SEED,
                  block: int | None = None, conf_level: float = CONF_LEVEL, threads: int | None = None,
                  progress: Callable[[int], None] | None = None) -> SobolResult:
    """First-order and total Sobol indices per stream group, by pick-freeze on the keyed streams.

    Parameters
    ----------
    run : jkn_risk.simulate.PreparedRun
    n : int
        Base sample size ``N`` (>= 2); the engine simulates ``(k + 2) N`` simulations.
    targets : sequence of {"surplus", "claim_ratio"}
    years : sequence of int, optional
        Projection years (default: all).
    groups : sequence of str, optional
        Drivers, ``"ibnr"`` or ``"process"`` (default: :func:`stream_groups`, every group with
        randomness). ``B`` re-keys everything in any case, so a subset changes no index.
    n_boot, seed, conf_level
        Bootstrap of :func:`sobol_estimates`.
    block : int, optional
        Simulations per :func:`jkn_risk.simulate.simulate_block` call (default: the config's
        block size, else 256).
    threads : int, optional
        Numba threads of the kernel (default: all).
    progress : callable, optional
        Called with the number of simulations done.

    Returns
    -------
    SobolResult
    """
    from jkn_risk.simulate import STREAM_GROUPS, simulate_block

    if n < 2:
        raise ValueError(f"n must be at least 2 (got {n})")
    groups = tuple(groups) if groups is not None else stream_groups(run)
    bad = [g for g in groups if g not in run.drivers and g not in STREAM_GROUPS]
    if bad or not groups:
        raise ValueError(f"unknown stream group {bad[0]!r}" if bad else "no stream groups")
    years = tuple(int(y) for y in (years if years is not None else run.params.years))
    missing = [y for y in years if y not in run.params.years]
    if missing:
        raise ValueError(f"year {missing[0]} is not a projection year")
    targets = tuple(targets)

    def evaluate(sims, streams):
        return target_values(simulate_block(run, sims, threads=threads, streams=streams), targets, years)

    block = block or run.params.block_size or 256
    yA, yB, yAB = pick_freeze(evaluate, groups, n, block=block, progress=progress)
    est = sobol_estimates(yA, yB, yAB, n_boot=n_boot, seed=seed, conf_level=conf_level)
    order = lambda x: np.moveaxis(x, 0, 2)  # noqa: E731  (k, T, Y, ...) -> (T, Y, k, ...)
    return SobolResult(groups=groups, targets=targets, years=years, n=int(n), S1=order(est["S1"]),
                       S1_ci=order(est["S1_ci"]), ST=order(est["ST"]), ST_ci=order(est["ST_ci"]),
                       variance=est["variance"], mean=est["mean"], n_boot=int(n_boot), seed=int(seed),
                       conf_level=float(conf_level), config_name=run.params.name,
                       notes=_correlation_note(run.assumptions, groups))


# --------------------------------------------------------------------------- tables, figure, files
def sensitivity_frame(result: SobolResult | list[dict]) -> pd.DataFrame:
    """One row per target, year and driver: ``S1``, ``S1_lo``, ``S1_hi``, ``ST``, ``ST_lo``, ``ST_hi``."""
    recs = result.records() if isinstance(result, SobolResult) else result
    rows = [{"target": r["target"], "year": r["year"], "driver": i["driver"],
             "S1": i["S1"], "S1_lo": i["S1_ci"][0], "S1_hi": i["S1_ci"][1],
             "ST": i["ST"], "ST_lo": i["ST_ci"][0], "ST_hi": i["ST_ci"][1]}
            for r in recs for i in r["indices"]]
    return pd.DataFrame(rows, columns=["target", "year", "driver", "S1", "S1_lo", "S1_hi", "ST", "ST_lo",
                                       "ST_hi"]).astype({c: float for c in ("S1", "S1_lo", "S1_hi", "ST",
                                                                             "ST_lo", "ST_hi")})


def plot_sensitivity(result: SobolResult | list[dict]) -> Figure:
    """Horizontal bars of S1 and ST with interval whiskers: one panel per target (rows) and year
    (columns), drivers ordered by their mean total index (largest on top)."""
    df = sensitivity_frame(result)
    targets = list(dict.fromkeys(df["target"]))
    years = sorted(set(df["year"]))
    order = list(df.groupby("driver", sort=False)["ST"].mean().fillna(-1.0).sort_values().index)
    k, h = len(order), 0.38
    fig = Figure(figsize=(2.2 + 2.9 * len(years), 0.7 + len(targets) * (0.9 + 0.26 * k)), layout="constrained")
    axes = fig.subplots(len(targets), len(years), squeeze=False, sharey=True)
    hi_all = float(np.nanmax(df[["S1_hi", "ST_hi", "S1", "ST"]].to_numpy(), initial=1.0))
    lo_all = float(np.nanmin(df[["S1_lo", "ST_lo", "S1", "ST"]].to_numpy(), initial=0.0))
    pos = np.arange(k)
    for r, t in enumerate(targets):
        for c, y in enumerate(years):
            ax = axes[r, c]
            d = df[(df["target"] == t) & (df["year"] == y)].set_index("driver").reindex(order)
            for off, col, colour in ((h / 2, "S1", "#1f77b4"), (-h / 2, "ST", "#ff7f0e")):
                v = d[col].to_numpy()
                err = np.abs(np.vstack([v - d[f"{col}_lo"].to_numpy(), d[f"{col}_hi"].to_numpy() - v]))
                ax.barh(pos + off, np.nan_to_num(v), height=h, color=colour, label=col,
                        xerr=np.nan_to_num(err), capsize=1.5, error_kw={"lw": 0.7})
            ax.axvline(0, color="black", lw=0.6)
            ax.set_xlim(min(-0.05, lo_all - 0.02), max(1.0, hi_all + 0.02))
            ax.set_title(f"{_LABELS.get(t, t)}, {y}", fontsize=9)
            ax.tick_params(labelsize=8)
            if r == len(targets) - 1:
                ax.set_xlabel("Sobol index", fontsize=8)
    axes[0, 0].set_yticks(pos, order, fontsize=8)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    return fig


def _fmt(v, lo, hi) -> str:
    if v is None or not np.isfinite(v):
        return ""
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None and np.isfinite(lo) else f"{v:.3f}"


def _table(rec: dict) -> str:
    rows = sorted(rec["indices"], key=lambda i: -(i["ST"] if i["ST"] is not None else -1.0))
    return md_table(pd.DataFrame({
        "driver": [f"`{i['driver']}`" for i in rows],
        "S1 [CI]": [_fmt(i["S1"], *i["S1_ci"]) for i in rows],
        "ST [CI]": [_fmt(i["ST"], *i["ST_ci"]) for i in rows]}))


def _method_text(rec: dict) -> str:
    return (f"Pick-freeze on the keyed streams: base sample N = {rec['n']:,}, {rec['evaluations']:,} "
            "simulations in all ((k + 2) N for k groups). S1 by Saltelli et al. (2010), ST by Jansen (1999), "
            f"as in `SALib.analyze.sobol`; {100 * rec['conf_level']:g}% intervals by {rec['ci']} of whole "
            "base points. Groups: each uncertain driver (all years together), `ibnr` (completion factors), "
            "`process` (claims randomness). ST = S1 + the group's interactions; the S1 estimator is the noisier "
            "(small N can give S1 > ST or a sum of S1 above 1): read S1 with its interval.")


def write_sensitivity(result: SobolResult, out_dir: str | Path, dpi: int = 150) -> list[Path]:
    """Write ``sensitivity.json`` (:meth:`SobolResult.records`), ``sensitivity.png``,
    ``sensitivity.md`` and the run report's section ``sensitivity_section.md`` into ``out_dir``
    (created), and join a run report found there (:func:`join_report`). Returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recs = result.records()
    paths = [out / JSON_NAME, out / FIGURE_NAME, out / MARKDOWN_NAME, out / SECTION_NAME]
    paths[0].write_text(json.dumps(recs, indent=1), encoding="utf-8")
    plot_sensitivity(result).savefig(paths[1], dpi=dpi)
    notes = [f"> {note}\n" for note in result.notes]
    md = [f"# Attribution (Sobol indices): `{result.config_name}`\n", _method_text(recs[0]) + "\n", *notes,
          f"![Sobol indices]({FIGURE_NAME})\n"]
    for r in recs:
        md.append(f"## {_LABELS.get(r['target'], r['target'])}, {r['year']}\n\n{_table(r)}")
    paths[2].write_text("\n".join(md), encoding="utf-8")
    paths[3].write_text(report_section(recs, notes), encoding="utf-8")
    if join_report(out):
        paths += [out / REPORT_MD, out / REPORT_HTML]
    return paths


def report_section(records: list[dict], notes: Sequence[str] = ()) -> str:
    """The run report's attribution section: the figure and a table per target for the last year."""
    last = max(r["year"] for r in records)
    md = [f"{_SECTION}\n", "Which assumptions drive the variance of the national surplus and claim ratio. "
          + _method_text(records[0]) + f" All years: `{MARKDOWN_NAME}`.\n", *notes,
          f"![Sobol indices by driver]({FIGURE_NAME})\n\n*First-order (S1) and total (ST) Sobol indices "
          "with bootstrap intervals.*\n"]
    for r in records:
        if r["year"] == last:
            md.append(f"### {_LABELS.get(r['target'], r['target'])}, {last}\n\n{_table(r)}")
    return "\n".join(md)


def join_report(out_dir: str | Path) -> bool:
    """Put ``sensitivity_section.md`` into ``out_dir/report.md`` (before its methods, replacing an
    older one) and rewrite ``report.html``; False when there is no report (or no section) there.
    A report rendered later picks the section up itself (:func:`jkn_risk.report.render.render_report`)."""
    out = Path(out_dir)
    md_path, section_path = out / REPORT_MD, out / SECTION_NAME
    if not md_path.is_file() or not section_path.is_file():
        return False
    section = section_path.read_text(encoding="utf-8")
    text = md_path.read_text(encoding="utf-8")
    start = text.find(_SECTION)
    if start >= 0:  # drop the old section up to the next top-level section
        nxt = text.find("\n## ", start + len(_SECTION))
        text = text[:start] + (text[nxt + 1:] if nxt >= 0 else "")
    anchor = text.find(METHODS_HEADING)
    text = (text[:anchor] + section + "\n" + text[anchor:]) if anchor >= 0 else text.rstrip("\n") + "\n\n" + section
    md_path.write_text(text, encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").replace("`", "") if text else "JKN risk report"
    (out / REPORT_HTML).write_text(md_to_html(text, title, out), encoding="utf-8")
    return True
