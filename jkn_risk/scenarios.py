"""Stress tests: a base config and scenarios run with the same seed (common random numbers).

A scenario file is a config that ``extends:`` a base and changes it by plain overrides or by
``shocks``. ``jkn-risk stress BASE SCENARIO...`` re-bases every scenario on the BASE given on
the command line (the scenario's own keys are merged over BASE; its ``extends:`` only says
which base it was written for), forces BASE's seed and number of simulations, runs each through
the same resumable orchestration into ``OUT/runs/<name>.zarr``, and combines them into
``OUT/stress.zarr``: one dataset with a ``scenario`` dimension ("base" first).

Compartments in the combined dataset are the same for every scenario so that they can be
compared: the national fund, one pocket per segment and one per region, each computed from
the scenario's own cells with its own regional-government share (:mod:`jkn_risk.finance`).
Because every cell draws its random numbers from (seed, simulation, cell), a scenario that
changes only some cells draws identical numbers in every other cell, and differences against
the base are paired simulation by simulation.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import xarray as xr

from jkn_risk.config import (ConfigError, _load_tree, _read_yaml, _resolve_paths, apply_overrides,
                             deep_merge, load_config, load_config_dict)
from jkn_risk.finance import compartment_finance, compartment_labels
from jkn_risk.parameters import Parameters, build_parameters

__all__ = ["load_scenario", "scenario_parameters", "combine", "run_stress", "VIEWS"]

VIEWS = ("pooled", "segment", "region")


def load_scenario(path: str | Path, base: str | Path, overrides: list[str] | None = None):
    """A scenario's own keys merged over ``base`` (its ``extends:`` is replaced by ``base``)."""
    path = Path(path).resolve()
    own = _read_yaml(path)
    _resolve_paths(own, path.parent)
    own.pop("extends", None)
    own.setdefault("name", path.stem)
    base_tree = apply_overrides(_load_tree(Path(base), ()), overrides)
    merged = deep_merge(base_tree, own)
    # the scenario shares the base's seed and simulation count: common random numbers
    merged.setdefault("simulation", {})
    for key in ("seed", "n_sims", "block_size"):
        if key in base_tree.get("simulation", {}):
            merged["simulation"][key] = base_tree["simulation"][key]
    return load_config_dict(merged)


def scenario_parameters(base: Path, scenarios: list[Path], sims: int | None = None,
                        overrides: list[str] | None = None) -> list[tuple[str, Parameters]]:
    """(name, Parameters) for the base and each scenario, with unique names."""
    overrides = list(overrides or [])
    if sims is not None:
        overrides.append(f"simulation.n_sims={sims}")
    out = [("base", build_parameters(load_config(base, overrides)))]
    problems = []
    for path in scenarios:
        try:
            cfg = load_scenario(path, base, overrides)
        except ConfigError as exc:
            problems += [(f"{Path(path).name}: {p}", m, v) for p, m, v in exc.problems]
            continue
        name = cfg.name if cfg.name not in ("unnamed",) else Path(path).stem
        if name in [n for n, _ in out]:
            name = Path(path).stem
        out.append((name, build_parameters(cfg)))
    if problems:
        raise ConfigError(problems)
    return out


#: Coverage variables (a ``population:`` configured), kept where every scenario has them.
_COVERAGE = ("active_coverage_national", "active_coverage")


def _views(params: Parameters, ds: xr.Dataset, coverage=()) -> xr.Dataset:
    """Common compartments (national, segments, regions) for one scenario's results, and the
    ``coverage`` variables named."""
    load = lambda name: ds[name].transpose("sim", "year", "region", "segment").values  # noqa: E731
    claims = ds["claims"].sum("care").transpose("sim", "year", "region", "segment").values
    cells = {"income": load("income"), "non_cbg_cost": load("non_cbg_cost"),
             "admin_cost": load("admin_cost"), "surplus": load("surplus")}
    cells["medical_cost"] = claims.astype(np.float64) + cells["non_cbg_cost"]
    parts, labels = {}, []
    for scheme in VIEWS:
        comp = compartment_finance(params, cells, scheme=scheme)
        for k, v in comp.items():
            parts.setdefault(k, []).append(v)
        labels += compartment_labels(scheme, params.regions, params.segments)
    coords = {"sim": ds.sim.values, "year": ds.year.values,
              "compartment": np.array(labels, dtype=object)}
    out = xr.Dataset(coords=coords)
    for k, v in parts.items():
        out[k] = xr.Variable(("sim", "year", "compartment"), np.concatenate(v, axis=-1),
                             {"units": "IDR", "long_name": ds[k].attrs.get("long_name", k)
                              if k in ds else k})
    for name in ("claims", "claims_uncapped", "members_over_cap", "events"):
        out[name] = ds[name].sum(["region", "care"]).load()
        out[name].attrs = dict(ds[name].attrs)
    if "net_assets" in ds:  # the whole fund's balance (compartment rules differ by scenario)
        net = ds["net_assets"].sum("compartment").load()
        medical = ds["fund_medical_cost"].sum("compartment").load()
        out["fund_net_assets"] = xr.Variable(("sim", "year"), net.values, {
            "units": "IDR", "long_name": "net assets of the whole fund at year end"})
        with np.errstate(divide="ignore", invalid="ignore"):
            months = np.where(medical.values > 0, 12.0 * net.values / medical.values, np.nan)
        out["fund_months_of_claims"] = xr.Variable(("sim", "year"), months, {
            "units": "month", "long_name": "12 x net assets / medical cost of the year, whole fund"})
    for name in coverage:
        out[name] = ds[name].load()
    return out


def combine(named: list[tuple[str, Parameters, xr.Dataset]]) -> xr.Dataset:
    """One dataset with a leading ``scenario`` dimension ("base" first)."""
    coverage = [v for v in _COVERAGE if all(v in ds for _, _, ds in named)]
    views = [_views(p, ds, coverage) for _, p, ds in named]
    out = xr.concat(views, dim=xr.DataArray(np.array([n for n, _, _ in named], dtype=object),
                                            dims="scenario", name="scenario"),
                    data_vars="all", coords="minimal", compat="override", join="exact")
    base_ds = named[0][2]
    out["members"] = base_ds["members"].load()
    out.attrs = {k: v for k, v in base_ds.attrs.items() if k != "config_yaml"}
    out.attrs.update({"title": "jkn_risk stress test", "compartments": "national+segment+region",
                      "scenarios": ", ".join(n for n, _, _ in named)})
    for n, p, _ in named:
        out.attrs[f"config_yaml_{n}"] = p.config_yaml
    return out


def run_stress(base: Path, scenarios: list[Path], *, out_dir: Path, sims: int | None = None,
               workers: int | None = None, scheduler: str | None = None, resume: bool = False,
               overwrite: bool = False, overrides: list[str] | None = None,
               progress: bool = True) -> str:
    """Run the base and every scenario, combine them, write the stress report.

    Returns
    -------
    str
        The comparison table as JSON (one record per scenario, year and compartment).
    """
    from jkn_risk.orchestrate import run
    from jkn_risk.report.stress import compare_scenarios, render_stress_report, to_json
    from jkn_risk.results import ResultsError, open_results

    out_dir = Path(out_dir)
    combined_path = out_dir / "stress.zarr"
    if combined_path.exists() and not (overwrite or resume):
        raise ResultsError(f"{combined_path} exists: use --resume to continue or --overwrite to replace it")
    named = scenario_parameters(Path(base), [Path(s) for s in scenarios], sims, overrides)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    results = []
    for name, params in named:
        store = out_dir / "runs" / f"{name}.zarr"
        run(params, store, workers=workers, scheduler=scheduler, resume=resume and store.exists(),
            overwrite=overwrite, progress=progress)
        results.append((name, params, open_results(store)))
    ds = combine(results)
    tmp = out_dir / "stress.zarr.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    ds.to_zarr(tmp, mode="w", consolidated=False)
    if combined_path.exists():
        shutil.rmtree(combined_path)
    tmp.rename(combined_path)
    render_stress_report(ds, out_dir)
    return to_json(compare_scenarios(ds))
