"""jkn_risk: a stochastic Monte Carlo risk engine for Indonesia's national health insurance fund.

The public API, importable from the top level (heavier pieces are imported on first use)::

    cfg = jkn_risk.load_config("configs/jkn2014.yaml")
    table = jkn_risk.project(cfg)                    # deterministic expected values
    params = jkn_risk.build_parameters(cfg)
    block = jkn_risk.simulate_block(jkn_risk.prepare_run(params), range(100))
    jkn_risk.run(params, "results/run.zarr")         # Dask + Zarr, resumable
    ds = jkn_risk.open_results("results/run.zarr")
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
    "run": "jkn_risk.orchestrate",
    "open_results": "jkn_risk.results",
    "risk_measures": "jkn_risk.report.metrics",
    "render_report": "jkn_risk.report.render",
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
