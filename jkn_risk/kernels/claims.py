"""The member-year claims kernel: member-years → events → case group → cost → annual cap → totals.

Two exact modes, chosen per cell (``method``):

*individual* (``METHOD_INDIVIDUAL``, :mod:`jkn_risk.kernels.individual`)
    Every member-year simulated, members with 1, 2, 3, ... events drawn as classes; per-member
    annual caps. Memory independent of membership.
*collective* (``METHOD_COLLECTIVE``, :mod:`jkn_risk.kernels.collective`; only without a cap)
    Independent Poisson counts per case group, O(case groups) per cell without noise.
    ``members_with_events`` is not drawn there and is returned as ``-1``;
    ``members_over_cap`` is ``0`` and capped equals uncapped cost.

Amounts are integer rupiah (:mod:`jkn_risk.kernels.amounts`) and all money is summed in int64,
so totals are exact and independent of summation order.

This module is the driver: work items ``(sim, cell, member block)`` of ``MEMBER_BLOCK`` members
(one item per collective cell), each with its own xoshiro256** streams keyed by
``stream_key(TAG_CLAIMS, seed, sim, cell_key, block)`` (counts and case groups) and
``stream_key(TAG_CLAIMS_NOISE, ...)`` (individual mode's cost noises), run serially or over
Numba threads (``prange``, items handed out one at a time). Results are therefore
bit-identical for any split of ``sims``, any order and any number of threads, and a cell's
numbers do not depend on any other cell (common random numbers). Within a collective cell the
coupling goes down to the case group; in individual mode a changed rate shifts the block's
draw sequence, so the coupling there is per member block.
"""
from __future__ import annotations

import functools
import hashlib

import numba
import numpy as np
from numba import njit, prange

from jkn_risk.kernels.amounts import event_tables
from jkn_risk.kernels.collective import collective_cell, group_probabilities
from jkn_risk.kernels.counts import FREQ_NEGBIN, FREQ_POISSON
from jkn_risk.kernels.individual import individual_block
from jkn_risk.kernels.lognormal import aligned_rows, lognormal_tables
from jkn_risk.kernels.alias import pow2_alias_tables
from jkn_risk.rng import TAG_CLAIMS, TAG_CLAIMS_NOISE, stream_key

__all__ = [
    "simulate_cells",
    "clear_table_memos",
    "OUT_EVENTS",
    "OUT_MEMBERS_WITH_EVENTS",
    "OUT_CLAIMS_UNCAPPED",
    "OUT_CLAIMS",
    "OUT_MEMBERS_OVER_CAP",
    "N_OUT",
    "FREQ_POISSON",
    "FREQ_NEGBIN",
    "METHOD_INDIVIDUAL",
    "METHOD_COLLECTIVE",
    "NO_CAP",
    "MEMBER_BLOCK",
]

(OUT_EVENTS, OUT_MEMBERS_WITH_EVENTS, OUT_CLAIMS_UNCAPPED, OUT_CLAIMS,
 OUT_MEMBERS_OVER_CAP) = range(5)
N_OUT = 5
METHOD_INDIVIDUAL, METHOD_COLLECTIVE = 0, 1
NO_CAP = -1
#: Members per random stream (and per work item) in individual mode: 262,144, small enough that
#: a 10 M-member cell is 39 items, which two threads share to within 1%, and large enough that
#: the per-block set-up (count table, binomials, scratch arrays: a few µs) stays below 2%. Part
#: of the stream definition: changing it changes every result (but not their distribution).
MEMBER_BLOCK = 1 << 18
#: Work items processed per parallel region (bounds the scratch memory to a few MB).
_ITEM_CHUNK = 1 << 16


# ---------------------------------------------------------------------------------------------
# Private kernels (inputs assumed valid)
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _find_cell(block_offset, r):
    """Largest ``c`` with ``block_offset[c] <= r`` (``block_offset`` ascending, starts at 0)."""
    lo = 0
    hi = block_offset.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if block_offset[mid] <= r:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _run_item(it, per_sim, seed, sims, cell_key, members, rate, frequency, dispersion, mix, table,
              table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob, noise_zt,
              noise_fh, noise_par, noise_row, block_offset, res):
    """Work item ``it`` = (sim, cell, block): write its 5 outputs into ``res``. Inputs valid."""
    si = it // per_sim
    rr = it - si * per_sim
    c = _find_cell(block_offset, rr)
    b = rr - block_offset[c]
    key = stream_key(TAG_CLAIMS, seed, sims[si], cell_key[c], b)
    lam = rate[si, c]
    if method[c] == 1:
        ev, cost = collective_cell(key, seed, sims[si], cell_key[c], members[c], lam,
                                    frequency[c], dispersion[c], mix[c], c, n_groups, group_prob,
                                    tariff, sigma[c], noise_zt[noise_row[c]],
                                    noise_fh[noise_row[c]], noise_par[noise_row[c]])
        res[0] = ev
        res[1] = -1
        res[2] = cost
        res[3] = cost
        res[4] = 0
    else:
        m = min(MEMBER_BLOCK, members[c] - b * MEMBER_BLOCK)
        noise_key = stream_key(TAG_CLAIMS_NOISE, seed, sims[si], cell_key[c], b)
        ev, mw, unc, capd, over = individual_block(
            key, noise_key, m, lam, frequency[c], dispersion[c], table[table_row[c]], cell_shift[c],
            sigma[c], cap[c], noise_zt[noise_row[c]], noise_fh[noise_row[c]],
            noise_par[noise_row[c]])
        res[0] = ev
        res[1] = mw
        res[2] = unc
        res[3] = capd
        res[4] = over


@njit(cache=True)
def _reduce_items(start, n, per_sim, block_offset, partial, out):
    for j in range(n):
        it = start + j
        si = it // per_sim
        c = _find_cell(block_offset, it - si * per_sim)
        for k in range(N_OUT):
            out[si, c, k] += partial[j, k]


@njit(parallel=True, cache=True)
def _simulate_kernel(seed, sims, cell_key, members, rate, frequency, dispersion, mix, table,
                     table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob,
                     noise_zt, noise_fh, noise_par, noise_row, block_offset, out):
    """Fill ``out[n_sim, n_cell, 5]`` (zeroed by the caller), in parallel. Inputs assumed valid.

    Work items are ``(sim, cell, block)`` enumerated through ``block_offset`` (cell ``c`` owns
    items ``block_offset[c] .. block_offset[c + 1] - 1`` of each simulation); each item has its
    own stream, so the parallel split does not affect any result.
    """
    per_sim = block_offset[block_offset.shape[0] - 1]
    total = sims.shape[0] * per_sim
    if total == 0:
        return
    chunk = min(total, _ITEM_CHUNK)
    partial = np.zeros((chunk, N_OUT), dtype=np.int64)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        for j in prange(n):
            _run_item(start + j, per_sim, seed, sims, cell_key, members, rate, frequency,
                      dispersion, mix, table, table_row, cell_shift, n_groups, tariff, sigma,
                      cap, method, group_prob, noise_zt, noise_fh, noise_par, noise_row,
                      block_offset, partial[j])
        _reduce_items(start, n, per_sim, block_offset, partial, out)


@njit(cache=True)
def _simulate_kernel_serial(seed, sims, cell_key, members, rate, frequency, dispersion, mix,
                            table, table_row, cell_shift, n_groups, tariff, sigma, cap, method,
                            group_prob, noise_zt, noise_fh, noise_par, noise_row, block_offset,
                            out):
    """As :func:`_simulate_kernel` on the calling thread (one thread or one item: no pool)."""
    per_sim = block_offset[block_offset.shape[0] - 1]
    total = sims.shape[0] * per_sim
    if total == 0:
        return
    res = np.zeros(N_OUT, dtype=np.int64)
    for it in range(total):
        _run_item(it, per_sim, seed, sims, cell_key, members, rate, frequency, dispersion, mix,
                  table, table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob,
                  noise_zt, noise_fh, noise_par, noise_row, block_offset, res)
        si = it // per_sim
        c = _find_cell(block_offset, it - si * per_sim)
        for k in range(N_OUT):
            out[si, c, k] += res[k]


# ---------------------------------------------------------------------------------------------
# Public wrapper
# ---------------------------------------------------------------------------------------------
def _as(name, x, dtype, shape):
    a = np.ascontiguousarray(x, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


_MIX_CACHE: dict[bytes, tuple] = {}
_MIX_CACHE_SIZE = 8


def _mix_tables(alias_prob, alias_index, n_groups):
    """The alias tables' power-of-two form and group probabilities, memoised by content.

    A run calls :func:`simulate_cells` once per block with the same case mixes; rebuilding these
    (Vose's construction per mix, ~0.25 ms for one 1,077-group mix) was most of a call's serial
    part, which caps the speed-up of threads on a small cell. The key is a BLAKE2 digest of the
    three arrays (a few µs); the cached arrays are only read by the kernels.
    """
    h = hashlib.blake2b(digest_size=16)
    for a in (alias_prob, alias_index, n_groups):
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    key = h.digest()
    hit = _MIX_CACHE.get(key)
    if hit is None:
        hit = (pow2_alias_tables(alias_prob, alias_index, n_groups),
               group_probabilities(alias_prob, alias_index, n_groups))
        if len(_MIX_CACHE) >= _MIX_CACHE_SIZE:
            _MIX_CACHE.pop(next(iter(_MIX_CACHE)))
        _MIX_CACHE[key] = hit
    return hit


#: Lognormal ziggurat tables per sigma (~10 ms to build; read-only once built).
_sigma_tables = functools.lru_cache(maxsize=16)(lognormal_tables)


def clear_table_memos() -> None:
    """Forget the memoised alias and lognormal tables: the next call builds them again.

    For a caller that no longer trusts what was computed earlier in the process (the test
    suite's reruns after a machine fault: tests/conftest.py)."""
    _MIX_CACHE.clear()
    _sigma_tables.cache_clear()


def _noise_tables(sigma):
    """Lognormal ziggurat tables for each distinct ``sigma > 0`` of the cells, stacked.

    Returns ``zt`` (int64, (n, 2**11, 4), rows 64-byte aligned), ``fh`` (float64, (n, 2**11,
    2)), ``par`` (float64, (n, 10)) and ``row`` (int64, (n_cell,): each cell's tables; 0 for
    cells without noise, which do not read them). Tables are memoised per sigma (~10 ms each).
    """
    values = np.unique(sigma[sigma > 0.0])
    tabs = [_sigma_tables(float(v)) for v in values]
    if not tabs:
        return (np.zeros((1, 1, 4), np.int64), np.zeros((1, 1, 2)), np.zeros((1, 10)),
                np.zeros(sigma.shape[0], np.int64))
    n_slot = tabs[0][0].shape[0]
    zt = aligned_rows(len(tabs) * n_slot).reshape(len(tabs), n_slot, 4)
    for i, t in enumerate(tabs):
        zt[i] = t[0]
    fh = np.stack([t[1] for t in tabs])
    par = np.stack([t[2] for t in tabs])
    row = np.where(sigma > 0.0, np.searchsorted(values, sigma), 0).astype(np.int64)
    return zt, fh, par, row


def simulate_cells(*, seed, sims, cell_key, members, rate, frequency, dispersion, mix, alias_prob,
                   alias_index, n_groups, tariff, sigma, cap, method, threads=None):
    """Simulate annual claims per (simulation, cell).

    Parameters
    ----------
    seed : int
        The run's seed.
    sims : ndarray(int64, (n_sim,))
        Simulation indices (stream keys; any subset, any order).
    cell_key : ndarray(int64, (n_cell,))
        Stable identity of each cell (year, region, segment, care flattened by the caller).
    members : ndarray(int64, (n_cell,)) [member-years]
        Member-years per cell, ``>= 0``.
    rate : ndarray(float64, (n_sim, n_cell)) [events per member-year]
        Expected events per member-year for each simulation.
    frequency : ndarray(int64, (n_cell,))
        ``FREQ_POISSON`` or ``FREQ_NEGBIN``.
    dispersion : ndarray(float64, (n_cell,)) [1]
        Variance of the gamma frailty (NB only, ``> 0``): ``Var N = m + dispersion m^2``.
    mix : ndarray(int64, (n_cell,))
        Row of the alias table used by each cell.
    alias_prob : ndarray(float64, (n_mix, K))
    alias_index : ndarray(int64, (n_mix, K))
        Alias tables from :func:`jkn_risk.kernels.alias.build_alias_table`, padded to K.
    n_groups : ndarray(int64, (n_mix,))
        Case groups used in each row (the first ``n_groups`` columns).
    tariff : ndarray(int64, (n_cell, K)) [IDR]
        Tariff per case group, integer rupiah.
    sigma : ndarray(float64, (n_cell,)) [1]
        Lognormal cost-noise sigma, in ``[0, 3]``.
    cap : ndarray(int64, (n_cell,)) [IDR]
        Annual cap per member, or ``NO_CAP``.
    method : ndarray(int64, (n_cell,))
        ``METHOD_INDIVIDUAL`` or ``METHOD_COLLECTIVE`` (the latter only with ``NO_CAP``).
    threads : int, optional
        Numba threads for this call (restored afterwards); default: the current setting.

    Returns
    -------
    ndarray(int64, (n_sim, n_cell, 5))
        ``[..., OUT_EVENTS]`` events, ``OUT_MEMBERS_WITH_EVENTS`` members with at least one event
        (``-1`` for collective cells), ``OUT_CLAIMS_UNCAPPED`` [IDR], ``OUT_CLAIMS`` capped [IDR],
        ``OUT_MEMBERS_OVER_CAP`` members whose annual total exceeds the cap.

    Raises
    ------
    ValueError
        On inconsistent shapes or values, or a collective cell with a cap.
    """
    sims = np.ascontiguousarray(sims, dtype=np.int64)
    if sims.ndim != 1:
        raise ValueError("sims must be 1-d")
    cell_key = np.ascontiguousarray(cell_key, dtype=np.int64)
    if cell_key.ndim != 1:
        raise ValueError("cell_key must be 1-d")
    n_sim, n_cell = sims.shape[0], cell_key.shape[0]
    members = _as("members", members, np.int64, (n_cell,))
    rate = _as("rate", rate, np.float64, (n_sim, n_cell))
    frequency = _as("frequency", frequency, np.int64, (n_cell,))
    dispersion = _as("dispersion", dispersion, np.float64, (n_cell,))
    mix = _as("mix", mix, np.int64, (n_cell,))
    alias_prob = np.ascontiguousarray(alias_prob, dtype=np.float64)
    if alias_prob.ndim != 2:
        raise ValueError("alias_prob must be 2-d (n_mix, K)")
    n_mix, k = alias_prob.shape
    alias_index = _as("alias_index", alias_index, np.int64, (n_mix, k))
    n_groups = _as("n_groups", n_groups, np.int64, (n_mix,))
    tariff = _as("tariff", tariff, np.int64, (n_cell, k))
    sigma = _as("sigma", sigma, np.float64, (n_cell,))
    cap = _as("cap", cap, np.int64, (n_cell,))
    method = _as("method", method, np.int64, (n_cell,))

    if np.any(members < 0):
        raise ValueError("members must be >= 0")
    if not np.all(np.isfinite(rate)) or np.any(rate < 0):
        raise ValueError("rate must be finite and >= 0")
    if np.any((frequency != FREQ_POISSON) & (frequency != FREQ_NEGBIN)):
        raise ValueError("frequency must be FREQ_POISSON or FREQ_NEGBIN")
    nb = frequency == FREQ_NEGBIN
    if np.any(~(dispersion[nb] > 0)) or not np.all(np.isfinite(dispersion[nb])):
        raise ValueError("dispersion must be finite and > 0 for negative binomial cells")
    if np.any((n_groups < 1) | (n_groups > k)):
        raise ValueError("n_groups must be in 1..K")
    if np.any((mix < 0) | (mix >= n_mix)):
        raise ValueError("mix must index a row of the alias table")
    used = np.arange(k)[None, :] < n_groups[:, None]
    if np.any(used & ((alias_prob < 0) | (alias_prob > 1) | ~np.isfinite(alias_prob))):
        raise ValueError("alias_prob must lie in [0, 1]")
    if np.any(used & ((alias_index < 0) | (alias_index >= n_groups[:, None]))):
        raise ValueError("alias_index must point inside the used case groups")
    if np.any(tariff < 0):
        raise ValueError("tariff must be >= 0")
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0) or np.any(sigma > 3):
        raise ValueError("sigma must be finite and in [0, 3]")
    if np.any(cap < NO_CAP):
        raise ValueError("cap must be >= 0 or NO_CAP")
    if np.any((method != METHOD_INDIVIDUAL) & (method != METHOD_COLLECTIVE)):
        raise ValueError("method must be METHOD_INDIVIDUAL or METHOD_COLLECTIVE")
    if np.any((method == METHOD_COLLECTIVE) & (cap != NO_CAP)):
        raise ValueError("collective method is exact only without a cap (cap == NO_CAP)")

    # Items per simulation: ceil(members / MEMBER_BLOCK) per individual cell, one per collective.
    blocks = np.where(method == METHOD_COLLECTIVE, 1, -(-members // MEMBER_BLOCK)).astype(np.int64)
    block_offset = np.zeros(n_cell + 1, dtype=np.int64)
    np.cumsum(blocks, out=block_offset[1:])
    pow2, group_prob = _mix_tables(alias_prob, alias_index, n_groups)
    table, table_row, cell_shift = event_tables(alias_prob, alias_index, n_groups, mix, tariff,
                                                method == METHOD_INDIVIDUAL, pow2=pow2)
    noise_zt, noise_fh, noise_par, noise_row = _noise_tables(sigma)
    out = np.zeros((n_sim, n_cell, N_OUT), dtype=np.int64)

    args = (np.int64(seed), sims, cell_key, members, rate, frequency, dispersion, mix, table,
            table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob, noise_zt,
            noise_fh, noise_par, noise_row, block_offset,
            out)
    n_items = n_sim * int(block_offset[-1])
    if threads is not None and int(threads) < 1:
        raise ValueError("threads must be >= 1")
    if n_items <= 1 or threads == 1 or (threads is None and numba.get_num_threads() == 1):
        _simulate_kernel_serial(*args)  # same items, same streams, no thread pool
        return out
    old_threads = numba.get_num_threads()
    old_chunk = numba.get_parallel_chunksize()
    try:
        if threads is not None:
            numba.set_num_threads(int(threads))
        numba.set_parallel_chunksize(1)  # items differ in size: hand them out one at a time
        _simulate_kernel(*args)
    finally:
        numba.set_parallel_chunksize(old_chunk)
        numba.set_num_threads(old_threads)
    return out
