"""The notebook API: a Monte Carlo run or a stress test as one xarray Dataset, in memory.

:func:`run` gives exactly the Dataset that :func:`jkn_risk.open_results` gives for a store that
``jkn-risk run`` wrote from the same config, seed and number of simulations (the same
variables, dtypes, labels and attributes; only ``created`` differs), without writing a store.
:func:`stress` runs a base and its scenarios with common random numbers and combines them as
``jkn-risk stress`` does. Both feed :func:`jkn_risk.risk_measures`, :func:`jkn_risk.render_report`,
:func:`jkn_risk.compare_scenarios` and :func:`jkn_risk.render_stress_report` directly.

A config may be given as a path, a :class:`jkn_risk.Config` or, for :func:`run`, built
:class:`jkn_risk.Parameters`. For runs too large for memory, write a store with
``jkn-risk run`` (or :func:`jkn_risk.orchestrate.run`) and open it lazily.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import xarray as xr
import yaml

from jkn_risk.config import Config, apply_overrides, load_config, load_config_dict
from jkn_risk.orchestrate import auto_block_size, plan_blocks, simulate_blocks
from jkn_risk.parameters import Parameters, build_parameters
from jkn_risk.results import as_stored, run_attributes
from jkn_risk.scenarios import combine, scenario_parameters
from jkn_risk.simulate import prepare_run

__all__ = ["run", "stress", "parameters_of"]


def _overrides(sims: int | None, seed: int | None, overrides: Sequence[str] | None) -> list[str]:
    out = list(overrides or [])
    if sims is not None:
        out.append(f"simulation.n_sims={int(sims)}")
    if seed is not None:
        out.append(f"simulation.seed={int(seed)}")
    return out


def parameters_of(config: str | Path | Config | Parameters, *, sims: int | None = None,
                  seed: int | None = None, overrides: Sequence[str] | None = None) -> Parameters:
    """Parameters of a config given as a path, a Config or Parameters, with the number of
    simulations, the seed and ``--set``-style overrides (``"policy.standard_class=true"``)
    applied as ``jkn-risk run --sims --seed --set`` applies them."""
    extra = _overrides(sims, seed, overrides)
    if isinstance(config, Parameters):
        if extra:
            raise ValueError("sims, seed and overrides change a config, not built Parameters: "
                             "pass the config (a path or a Config) instead")
        return config
    if isinstance(config, Config):
        cfg = load_config_dict(apply_overrides(yaml.safe_load(config.source), extra)) if extra else config
    else:
        cfg = load_config(config, extra)
    return build_parameters(cfg)


def run(config: str | Path | Config | Parameters, *, sims: int | None = None, seed: int | None = None,
        overrides: Sequence[str] | None = None, workers: int | None = 0, scheduler: str | None = None,
        progress: bool = False) -> xr.Dataset:
    """Simulate a config and return its results as one in-memory Dataset (no store).

    Parameters
    ----------
    config : path, Config or Parameters
        The run; its ``simulation`` block gives the seed, number of simulations and block size.
    sims, seed : int, optional
        Override the config's number of simulations and seed (``jkn-risk run --sims --seed``).
    overrides : list of str, optional
        ``key.path=value`` overrides (``--set``).
    workers : int, optional
        ``0`` (default): in this process, Numba threads on every core. ``N``: a local Dask
        cluster of N worker processes; ``None``: one per core.
    scheduler : str, optional
        A running Dask scheduler, ``tcp://host:port``.
    progress : bool
        Show progress on stderr.

    Returns
    -------
    xr.Dataset
        Dims ``sim``, ``year``, ``region``, ``segment``, ``care``, ``compartment``, ``driver``
        (and the fund's, when the config has a ``fund:`` block); labels as ``StringDType``;
        every variable with ``units`` and ``long_name``; global attributes as a store's
        (``Conventions``, ``config_yaml``, ``seed``, ``n_sims``, ``block_size``, versions,
        ``created``). Blocks are simulated exactly as ``jkn-risk run`` simulates them, so the
        values are bit for bit a store's.
    """
    params = parameters_of(config, sims=sims, seed=seed, overrides=overrides)
    n_sims = int(params.n_sims)
    block_size = int(params.block_size or auto_block_size(params))
    prepared = prepare_run(params)
    parts = simulate_blocks(prepared, plan_blocks(n_sims, block_size), workers=workers,
                            scheduler=scheduler, progress=progress, label=params.name)
    sims_ds = xr.concat(parts, dim="sim", data_vars="all", coords="minimal", compat="identical",
                        join="exact", combine_attrs="override")
    ds = xr.merge([prepared.static(), sims_ds], compat="identical", join="exact",
                  combine_attrs="override")
    ds.attrs = run_attributes(params, n_sims, block_size)
    return as_stored(ds)


def stress(base: str | Path, scenarios: Sequence[str | Path], *, sims: int | None = None,
           overrides: Sequence[str] | None = None, workers: int | None = 0,
           scheduler: str | None = None, progress: bool = False) -> xr.Dataset:
    """Run a base config and scenarios with common random numbers and combine them.

    Parameters
    ----------
    base : path
        The base config (every scenario is re-based on it and shares its seed and number of
        simulations, as with ``jkn-risk stress``).
    scenarios : list of paths
        Scenario YAML files (``configs/stress/*.yaml``).
    sims, overrides, workers, scheduler, progress
        As :func:`run`; ``sims`` and ``overrides`` apply to the base and every scenario.

    Returns
    -------
    xr.Dataset
        The dataset ``jkn-risk stress`` writes to ``stress.zarr``: a leading ``scenario``
        dimension ("base" first), comparable compartments (national, per segment, per region),
        the claims totals and, with a fund, the whole fund's net assets. Compare scenarios with
        :func:`jkn_risk.compare_scenarios`.
    """
    if isinstance(scenarios, (str, Path)):
        scenarios = [scenarios]
    named = scenario_parameters(Path(base), [Path(s) for s in scenarios], sims, list(overrides or []))
    results = [(name, params, run(params, workers=workers, scheduler=scheduler, progress=progress))
               for name, params in named]
    return as_stored(combine(results))
