"""Benchmarks of the member-year claims kernel (pytest-benchmark), and the cases and the random-number
floor that run.py and the asv suite (benchmarks/benchmarks/kernel.py) use.

Run: ``python -m pytest benchmarks/bench_kernel.py --benchmark-only`` (pytest-benchmark), or
``python benchmarks/run.py [--quick] [--json]`` for the figures recorded in README.md.
Kernels are compiled in setup (a small warm-up call), never inside the timed region.
"""
from __future__ import annotations

import numpy as np
from numba import njit, uint64

from jkn_risk.kernels import claims as K
from jkn_risk.kernels.alias import build_alias_table
from jkn_risk.rng import next_u64, seed_state

N_GROUPS = 1077
CAP = 50_000_000


def case_mix(k: int = N_GROUPS, seed: int = 0):
    """A synthetic skewed INA-CBG table: Pareto case weights, lognormal tariffs (IDR)."""
    rng = np.random.default_rng(seed)
    probs = rng.pareto(1.2, k) + 0.01
    probs /= probs.sum()
    tariff = np.rint(np.exp(rng.normal(np.log(3_000_000), 1.0, k))).astype(np.int64)
    return probs, tariff


def kernel_args(members, rate, frequency, sigma, cap, method, n_sim=1, n_cell=1, k=N_GROUPS):
    """Keyword arguments of ``simulate_cells`` for ``n_cell`` identical cells (the kernel's
    inputs built here, in setup, as a run builds them once)."""
    probs, tariff = case_mix(k)
    ap, ai = build_alias_table(probs)
    inputs = K.kernel_inputs(
        seed=1, cell_key=np.arange(n_cell), frequency=np.full(n_cell, frequency),
        dispersion=np.ones(n_cell), mix=np.zeros(n_cell, int), alias_prob=ap[None],
        alias_index=ai[None], n_groups=np.array([k]), tariff=np.broadcast_to(tariff, (n_cell, k)),
        sigma=np.full(n_cell, sigma), cap=np.full(n_cell, cap), method=np.full(n_cell, method))
    return dict(inputs=inputs, sims=np.arange(n_sim), rate=np.full((n_sim, n_cell), rate),
                members=np.full(n_cell, members))


@njit
def rng_floor_draws(n):
    """``n`` 64-bit xoshiro256** draws of the package's own stream (``jkn_risk.rng``) in one dependency
    chain: the random-number floor the kernel is measured against (time it over n of about 10 M and divide
    by n for ns per draw). Returns the XOR of the draws (a uint64, as a Python int), so that the loop
    cannot be optimised away. Compiles on the first call: call it once with a small ``n`` before timing."""
    s0, s1, s2, s3 = seed_state(uint64(5))
    acc = uint64(0)
    for _ in range(n):
        v, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        acc ^= v
    return acc


def numpy_cell(rng, members, rate, frequency, dispersion, probs, tariff, sigma, cap):
    """A typical vectorised numpy implementation of the same model (per-member arrays).

    Returns events, members with events, uncapped and capped cost, members over the cap.
    """
    if frequency == K.FREQ_NEGBIN:
        counts = rng.poisson(rate * rng.gamma(1.0 / dispersion, dispersion, members))
    else:
        counts = rng.poisson(rate, members)
    n = int(counts.sum())
    groups = np.searchsorted(np.cumsum(probs), rng.random(n), side="right")
    groups = np.minimum(groups, probs.size - 1)
    amounts = tariff[groups].astype(np.float64)
    if sigma > 0:
        amounts = np.rint(amounts * np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma**2))
    owner = np.repeat(np.arange(members), counts)
    totals = np.bincount(owner, weights=amounts, minlength=members)
    capped = totals if cap == K.NO_CAP else np.minimum(totals, cap)
    over = 0 if cap == K.NO_CAP else int((totals > cap).sum())
    return n, int((counts > 0).sum()), totals.sum(), capped.sum(), over


# --- pytest-benchmark -----------------------------------------------------------------------
try:
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:
    SIZES = [1_000_000, 10_000_000]

    @pytest.mark.parametrize("members", SIZES)
    @pytest.mark.parametrize("frequency", [K.FREQ_POISSON, K.FREQ_NEGBIN])
    @pytest.mark.parametrize("sigma", [0.0, 0.3])
    def test_individual(benchmark, members, frequency, sigma):
        K.simulate_cells(**kernel_args(1000, 0.3, frequency, sigma, CAP, 0))  # compile
        args = kernel_args(members, 0.3, frequency, sigma, CAP, K.METHOD_INDIVIDUAL)
        benchmark(lambda: K.simulate_cells(threads=1, **args))

    @pytest.mark.parametrize("members", SIZES)
    def test_collective(benchmark, members):
        args = kernel_args(members, 0.3, K.FREQ_POISSON, 0.0, K.NO_CAP, K.METHOD_COLLECTIVE,
                           n_cell=100)
        K.simulate_cells(**args)  # compile
        benchmark(lambda: K.simulate_cells(threads=1, **args))

    @pytest.mark.parametrize("members", [1_000_000])
    def test_numpy_baseline(benchmark, members):
        probs, tariff = case_mix()
        rng = np.random.default_rng(0)
        benchmark(lambda: numpy_cell(rng, members, 0.3, 0, 1.0, probs, tariff, 0.0, CAP))
