"""Compile every Numba kernel once, so later runs (and CI's tests) load them from the cache.

``jkn-risk warmup`` calls :func:`compile_all`; kernels are ``@njit(cache=True)``, so the
machine code is written next to the modules and reused by every later process.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["compile_all"]


def _claims() -> None:
    from jkn_risk.codes import FREQ_NEGBIN, FREQ_POISSON, METHOD_COLLECTIVE, METHOD_INDIVIDUAL, NO_CAP
    from jkn_risk.kernels.alias import build_alias_table
    from jkn_risk.kernels.claims import kernel_inputs, simulate_cells

    prob, index = build_alias_table(np.array([0.5, 0.3, 0.2]))
    n = 4
    inputs = kernel_inputs(seed=1, cell_key=np.arange(n), mix=np.zeros(n, dtype=np.int64),
                           alias_prob=prob[None], alias_index=index[None], n_groups=np.array([3]),
                           tariff=np.tile(np.array([100, 1000, 10_000]), (n, 1)),
                           frequency=np.array([FREQ_POISSON, FREQ_NEGBIN] * 2),
                           dispersion=np.ones(n), sigma=np.array([0.0, 0.3, 0.0, 0.3]),
                           cap=np.array([5000, 5000, NO_CAP, NO_CAP]),
                           method=np.array([METHOD_INDIVIDUAL, METHOD_INDIVIDUAL,
                                            METHOD_COLLECTIVE, METHOD_COLLECTIVE]))
    for threads in (1, None):  # the serial and the parallel kernel
        simulate_cells(inputs, np.arange(2), np.full((2, n), 0.3), np.full(n, 1000),
                       np.full((2, n), 1.1), threads=threads)


def _reserving() -> None:
    from jkn_risk.reserving.bootstrap import BootstrapODP
    from jkn_risk.reserving.triangle import triangle_from_array

    inc = np.array([[100.0, 50, 20, 5], [110, 60, 25, np.nan], [120, 55, np.nan, np.nan],
                    [130, np.nan, np.nan, np.nan]])
    tri = triangle_from_array(np.nancumsum(inc, axis=1) * np.where(np.isnan(inc), np.nan, 1))
    for process in ("gamma", "odp", "none"):
        BootstrapODP(n_sims=10, random_state=0, process=process).fit(tri)


def _rng() -> None:
    from jkn_risk.rng import uniforms_for

    uniforms_for(1, 0, np.arange(3))


def compile_all() -> list[tuple[str, float]]:
    """Compile the kernels; returns ``(name, seconds)`` per group."""
    done = []
    for name, fn in (("rng", _rng), ("claims kernel", _claims), ("ODP bootstrap", _reserving)):
        t0 = time.perf_counter()
        fn()
        done.append((name, time.perf_counter() - t0))
    return done
