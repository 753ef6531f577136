"""Shared set-up of the asv suite: paths, compilation, the kernel's synthetic inputs."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "configs" / "jkn2014.yaml"
GENINS = REPO / "tests" / "data" / "triangles" / "genins.csv"
#: The capped individual run of the speed targets (1,000 simulations of the 2014 baseline).
INDIVIDUAL = ["simulation.method=individual", "policy.annual_benefit_cap=100000000",
              "case_mix.cost_noise_sigma=0.3"]
#: First compilation of every kernel takes ~1-2 min on a 2-core VM; later processes load the
#: machine code from Numba's cache in a second or two.
COMPILE_TIMEOUT = 900

if str(REPO / "benchmarks") not in sys.path:  # bench_kernel.py: the synthetic case mix
    sys.path.insert(0, str(REPO / "benchmarks"))


def compile_kernels() -> list:
    """Compile every kernel once (``jkn-risk warmup``; a load from the cache after): the
    ``setup_cache`` of every class. Returns ``(name, seconds)`` per kernel group, never None
    (asv passes a setup_cache's result, unless None, as the first argument of setup and of
    each benchmark)."""
    from jkn_risk.warmup import compile_all

    return compile_all()


def best_of(fn, repeat: int = 3, clock=time.perf_counter) -> tuple[float, object]:
    """Best time of ``repeat`` calls (wall time, or ``clock``) and the last call's result.

    ``clock=time.thread_time`` (CPU time of this thread) for shares and ratios on a loaded
    machine: the time slices other processes take do not count."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def load_params(*overrides: str):
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters

    return build_parameters(load_config(BASELINE, list(overrides)))
