"""jkn_risk: a stochastic Monte Carlo risk engine for Indonesia's national health insurance fund.

The public API, importable from the top level (heavier pieces are imported on first use)::

    cfg = jkn_risk.load_config("configs/jkn2014.yaml")
    rows = jkn_risk.table6(cfg)                      # deterministic projection, per year
    ds = jkn_risk.run(cfg, sims=200)                 # results in memory (xr.Dataset)
    measures = jkn_risk.risk_measures(ds)            # P(deficit), VaR, TVaR with SEs
    jkn_risk.render_report(ds, "results/report")     # figures + report.md/.html
    both = jkn_risk.stress("configs/jkn2018_segments.yaml", ["configs/stress/util_plus10.yaml"])
    jkn_risk.compare_scenarios(both)                 # paired differences per scenario
    ds = jkn_risk.open_results("results/run.zarr")   # a store written by `jkn-risk run`

``jkn_risk.run`` and ``jkn_risk.stress`` compute in memory (:mod:`jkn_risk.api`); the store
writer behind ``jkn-risk run`` (Dask, Zarr, resumable) is :func:`jkn_risk.orchestrate.run`.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "jkn_risk.config",
    "ConfigError": "jkn_risk.config",
    "load_config": "jkn_risk.config",
    "Parameters": "jkn_risk.parameters",
    "build_parameters": "jkn_risk.parameters",
    "project": "jkn_risk.projection",
    "table6": "jkn_risk.projection",
    "simulate_block": "jkn_risk.simulate",
    "prepare_run": "jkn_risk.simulate",
    "run": "jkn_risk.api",
    "stress": "jkn_risk.api",
    "open_results": "jkn_risk.results",
    "risk_measures": "jkn_risk.report.metrics",
    "render_report": "jkn_risk.report.render",
    "compare_scenarios": "jkn_risk.report.stress",
    "render_stress_report": "jkn_risk.report.stress",
    "Chainladder": "jkn_risk.reserving.chainladder",
    "MackChainladder": "jkn_risk.reserving.chainladder",
    "BootstrapODP": "jkn_risk.reserving.bootstrap",
    "read_triangle": "jkn_risk.reserving.triangle",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jkn_risk' has no attribute {name!r}")


def __dir__():
    return __all__
