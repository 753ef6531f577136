"""Back-test origins: which config projects from which base year, each origin's results and scores.

A rolling-origin back-test scores the same actuals from several base years. The registry is a
small YAML file (``configs/backtest/origins.yaml``)::

    origins:
      2014: {config: jkn2014_enacted.yaml, note: "..."}
      2018: {config: ../jkn2018_segments.yaml, note: "..."}

with config paths relative to the registry. Results come from the public pipeline
(``load_config`` -> ``build_parameters`` -> ``orchestrate.run`` -> ``open_results``) into a
temporary store, or from a store the user ran before (``--results``).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
import yaml

from .backtest import NEEDED, score_actuals, summarise

__all__ = ["Origin", "OriginError", "load_origins", "plan_origins", "check_origins",
           "check_compartments", "origin_results", "score_origins", "NEEDED"]


class OriginError(Exception):
    """A problem with the origins registry or an origin's results (reported in one line)."""


@dataclass(frozen=True)
class Origin:
    """A back-test origin: its base year, its config, and caveats to print with its scores."""

    year: int
    config: Path
    note: str = ""


def load_origins(path: str | Path) -> dict[int, Origin]:
    """Read an origins registry.

    Raises
    ------
    OriginError
        File missing or unreadable, not ``origins: {YEAR: {config: PATH[, note: TEXT]}}``, or a
        config that does not exist; the message names the file and the key.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise OriginError(f"{path}: origins registry not found (pass --origins FILE)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise OriginError(f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
    table = data.get("origins") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise OriginError(f"{path}: expected a mapping 'origins: {{YEAR: {{config: PATH}}}}'")
    out = {}
    for year, entry in table.items():
        if not isinstance(year, int):
            raise OriginError(f"{path}: origins.{year}: the key must be a base year")
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), str) \
                or set(entry) - {"config", "note"}:
            raise OriginError(f"{path}: origins.{year}: expected {{config: PATH, note: TEXT}}")
        config = (path.parent / entry["config"]).resolve()
        if not config.exists():
            raise OriginError(f"{path}: origins.{year}.config: file not found: {config}")
        out[year] = Origin(year, config, str(entry.get("note", "")).strip())
    return out


def plan_origins(config: Path, base_year: int, years: list[int] | None,
                 registry: Path | None) -> list[Origin]:
    """The origins to score: the config's own base year, or each year asked for.

    Parameters
    ----------
    config : Path
        The config on the command line; it serves its own base year.
    base_year : int
        Its base year.
    years : list of int, optional
        ``--origin`` years (None or empty: just ``base_year``).
    registry : Path, optional
        Origins registry; default ``origins.yaml`` next to ``config``. Read only when a year
        other than ``base_year`` is asked for, or to find the base year's note.
    """
    registry = registry or config.parent / "origins.yaml"
    known = load_origins(registry) if (set(years or []) - {base_year}) or registry.exists() else {}
    out = []
    for year in sorted(set(years or [base_year])):
        if year == base_year:
            note = known[year].note if year in known and known[year].config == config.resolve() else ""
            out.append(Origin(year, config, note))
        elif year in known:
            out.append(known[year])
        else:
            have = ", ".join(map(str, sorted({base_year, *known})))
            raise OriginError(f"--origin {year}: no config for that base year in {registry} "
                              f"(origins: {have})")
    return out


def origin_results(cfg, *, store: Path | None = None, workdir: Path | None = None) -> xr.Dataset:
    """The results of one origin, in memory (only :data:`NEEDED`).

    Parameters
    ----------
    cfg : jkn_risk.config.Config
        The origin's config (with any ``--sims`` override applied).
    store : Path, optional
        A results store of this config (``jkn-risk run``); its ``config_name`` and years must
        match ``cfg``. Default: run ``cfg`` (serially, no progress bar) into a temporary store
        under ``workdir`` (default: the system's temporary folder), removed afterwards.

    Raises
    ------
    OriginError
        A store of another config or other years.
    """
    from jkn_risk.results import open_results

    if store is not None:
        ds = open_results(store)
        name = str(ds.attrs.get("config_name", ""))
        if name != cfg.name:
            raise OriginError(f"{store}: results of config {name!r}, not of {cfg.name!r}")
        years = [int(y) for y in ds["year"].values]
        if years != list(cfg.years):
            raise OriginError(f"{store}: years {years[0]}-{years[-1]} differ from the config's "
                              f"{cfg.years[0]}-{cfg.years[-1]}")
        return ds[[v for v in NEEDED if v in ds]].load()

    from jkn_risk.orchestrate import run
    from jkn_risk.parameters import build_parameters

    params = build_parameters(cfg)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backtest-", dir=workdir) as tmp:
        path = run(params, Path(tmp) / f"{cfg.name}.zarr", workers=0, progress=False)
        ds = open_results(path)
        out = ds[[v for v in NEEDED if v in ds]].load()  # before the store goes
        ds.close()
    return out


def check_origins(plan: list[Origin], cfgs: list) -> None:
    """Each origin's config has the base year it is registered as (else :class:`OriginError`)."""
    for o, c in zip(plan, cfgs):
        if c.base_year != o.year:
            raise OriginError(f"{o.config}: base year {c.base_year}, registered as origin {o.year}")


def check_compartments(cfgs: list, actuals: list) -> None:
    """Every actual in a config's years names national or one of that config's compartments.

    Raises :class:`jkn_risk.report.actuals.ActualsError`, one line per stray actual.
    """
    from jkn_risk.finance import compartment_labels
    from jkn_risk.report.actuals import NATIONAL, ActualsError

    problems = [f"{a.source}: compartment {a.compartment!r} is not in {c.name}'s compartments "
                f"({', '.join(labels)})"
                for c in cfgs
                for labels in [compartment_labels(c.policy.compartments, c.regions, c.segments)]
                for a in actuals
                if a.year in c.years and a.compartment not in (NATIONAL, *labels)]
    if problems:
        raise ActualsError(problems)


def score_origins(plan: list[Origin], cfgs: list, actuals: list, *, store: Path | None = None,
                  workdir: Path | None = None) -> dict:
    """Run (or read, ``store``) each origin and score the actuals against it.

    Returns ``{"records", "summary", "fans", "origins"}``: the records and fans of
    :func:`jkn_risk.report.backtest.score_actuals` over every origin, their
    :func:`~jkn_risk.report.backtest.summarise` with ``summary["runs"]``, and one
    ``{"year", "config", "n_sims", "note"}`` per origin.
    """
    records, skipped, fans, runs = [], [], [], []
    for o, c in zip(plan, cfgs):
        ds = origin_results(c, store=store, workdir=workdir)
        r, s, f = score_actuals(ds, actuals, origin=o.year)
        records += r
        skipped += s
        fans += f
        runs.append({"year": o.year, "config": str(o.config), "n_sims": int(ds.sizes["sim"]),
                     "note": o.note})
    summary = summarise(records, skipped)
    summary["runs"] = runs
    return {"records": records, "summary": summary, "fans": fans, "origins": runs}
