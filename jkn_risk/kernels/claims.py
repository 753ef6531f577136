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

Per simulation and cell the caller gives the member-years, the expected events per member-year
and a cost scale (the simulation's drawn unit-cost factor): every event's amount, and so each
member's annual total, is multiplied by the scale *before* the annual cap, rounded to the rupiah
per member (per cell in collective mode, where there is no cap). A scale of exactly 1 leaves
every amount untouched.

Everything that is the same for every block (per-cell codes, the merged alias/tariff event
tables, the lognormal tables per sigma) is built once by :func:`kernel_inputs` into an immutable
:class:`KernelInputs`, validated there, and read by every :func:`simulate_cells` call.

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

from collections import namedtuple
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from jkn_risk.codes import (FREQ_NEGBIN, FREQ_POISSON, METHOD_COLLECTIVE, METHOD_INDIVIDUAL,
                            NO_CAP)
from jkn_risk.kernels.alias import pow2_alias_tables
from jkn_risk.kernels.amounts import event_tables
from jkn_risk.kernels.collective import collective_cell, group_probabilities
from jkn_risk.kernels.individual import individual_block
from jkn_risk.kernels.lognormal import aligned_rows, lognormal_tables
from jkn_risk.rng import TAG_CLAIMS, TAG_CLAIMS_NOISE, stream_key

__all__ = [
    "KernelInputs",
    "CELL_DTYPE",
    "kernel_inputs",
    "simulate_cells",
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
#: Members per random stream (and per work item) in individual mode: 262,144, small enough that
#: a 10 M-member cell is 39 items, which two threads share to within 1%, and large enough that
#: the per-block set-up (count table, binomials, scratch arrays: a few µs) stays below 2%. Part
#: of the stream definition: changing it changes every result (but not their distribution).
MEMBER_BLOCK = 1 << 18
#: Work items processed per parallel region (bounds the scratch memory to a few MB).
_ITEM_CHUNK = 1 << 16

#: What the kernel knows of a cell besides its per-simulation inputs (one record per cell).
#: ``table_row``, ``shift``: the cell's merged event table (individual cells); ``noise_row``:
#: its lognormal tables (cells with ``sigma > 0``).
CELL_DTYPE = np.dtype([("key", np.int64), ("mix", np.int64), ("frequency", np.int64),
                       ("dispersion", np.float64), ("sigma", np.float64), ("cap", np.int64),
                       ("method", np.int64), ("table_row", np.int64), ("shift", np.int64),
                       ("noise_row", np.int64)], align=True)

#: The read-only tables shared by the cells (a namedtuple, so Numba sees typed fields):
#: ``event`` (int64, (rows, 2**bits, 4)) merged alias/tariff tables of individual cells;
#: ``group_prob`` (float64, (n_mix, K)) and ``n_groups`` (int64, (n_mix,)) for collective cells;
#: ``tariff`` (int64, (n_cell, K)) [IDR]; ``noise_zt``, ``noise_fh``, ``noise_par``: the lognormal
#: ziggurat tables, one row per distinct sigma.
Tables = namedtuple("Tables", "event group_prob n_groups tariff noise_zt noise_fh noise_par")


@dataclass(frozen=True, eq=False)
class KernelInputs:
    """Everything of the kernel that is the same for every block of a run (built once).

    seed : int
        The run's seed (first word of every stream key after the tag).
    cells : ndarray(CELL_DTYPE, (n_cell,))
    tables : Tables
    """

    seed: int
    cells: np.ndarray
    tables: Tables

    @property
    def n_cell(self) -> int:
        return int(self.cells.shape[0])


# ---------------------------------------------------------------------------------------------
# Private kernels (inputs assumed valid)
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _find_item(offset, r):
    """Largest ``f`` with ``offset[f] <= r`` (``offset`` ascending, starts at 0)."""
    lo = 0
    hi = offset.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if offset[mid] <= r:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _run_item(it, seed, sims, cells, tab, rate, members, scale, offset, res):
    """Work item ``it`` = (sim, cell, block): write its 5 outputs into ``res``. Inputs valid.

    ``offset[si * n_cell + c]`` is the first item of cell ``c`` in simulation ``si``."""
    n_cell = cells.shape[0]
    f = _find_item(offset, it)
    si = f // n_cell
    c = f - si * n_cell
    b = it - offset[f]
    cell = cells[c]
    key = stream_key(TAG_CLAIMS, seed, sims[si], cell.key, b)
    lam = rate[si, c]
    sc = scale[si, c]
    nr = cell.noise_row
    if cell.method == METHOD_COLLECTIVE:
        ev, cost = collective_cell(key, seed, sims[si], cell.key, members[si, c], lam,
                                   cell.frequency, cell.dispersion, cell.mix, c, tab.n_groups,
                                   tab.group_prob, tab.tariff, cell.sigma, tab.noise_zt[nr],
                                   tab.noise_fh[nr], tab.noise_par[nr])
        if sc != 1.0:
            cost = np.int64(np.rint(cost * sc))
        res[0] = ev
        res[1] = -1
        res[2] = cost
        res[3] = cost
        res[4] = 0
    else:
        m = min(MEMBER_BLOCK, members[si, c] - b * MEMBER_BLOCK)
        noise_key = stream_key(TAG_CLAIMS_NOISE, seed, sims[si], cell.key, b)
        ev, mw, unc, capd, over = individual_block(
            key, noise_key, m, lam, cell.frequency, cell.dispersion, tab.event[cell.table_row],
            cell.shift, cell.sigma, cell.cap, sc, tab.noise_zt[nr], tab.noise_fh[nr],
            tab.noise_par[nr])
        res[0] = ev
        res[1] = mw
        res[2] = unc
        res[3] = capd
        res[4] = over


@njit(cache=True)
def _reduce_items(start, n, offset, partial, out):
    """Add items ``start .. start + n - 1`` into ``out[sim * n_cell + cell, :]``."""
    for j in range(n):
        f = _find_item(offset, start + j)
        for k in range(N_OUT):
            out[f, k] += partial[j, k]


@njit(parallel=True, cache=True)
def _simulate_kernel(seed, sims, cells, tab, rate, members, scale, offset, out):
    """Fill ``out[n_sim * n_cell, 5]`` (zeroed by the caller), in parallel. Inputs assumed valid.

    Work items are ``(sim, cell, block)`` enumerated through ``offset`` (cell ``c`` of
    simulation ``si`` owns items ``offset[f] .. offset[f + 1] - 1``, ``f = si * n_cell + c``);
    each item has its own stream, so the parallel split does not affect any result.
    """
    total = offset[offset.shape[0] - 1]
    if total == 0:
        return
    chunk = min(total, _ITEM_CHUNK)
    partial = np.zeros((chunk, N_OUT), dtype=np.int64)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        for j in prange(n):
            _run_item(start + j, seed, sims, cells, tab, rate, members, scale, offset,
                      partial[j])
        _reduce_items(start, n, offset, partial, out)


@njit(cache=True)
def _simulate_kernel_serial(seed, sims, cells, tab, rate, members, scale, offset, out):
    """As :func:`_simulate_kernel` on the calling thread (one thread or one item: no pool)."""
    total = offset[offset.shape[0] - 1]
    res = np.zeros(N_OUT, dtype=np.int64)
    for it in range(total):
        _run_item(it, seed, sims, cells, tab, rate, members, scale, offset, res)
        f = _find_item(offset, it)
        for k in range(N_OUT):
            out[f, k] += res[k]


# ---------------------------------------------------------------------------------------------
# Public wrappers
# ---------------------------------------------------------------------------------------------
def _as(name, x, dtype, shape):
    a = np.ascontiguousarray(x, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


def _noise_tables(sigma):
    """Lognormal ziggurat tables for each distinct ``sigma > 0`` of the cells, stacked.

    Returns ``zt`` (int64, (n, 2**11, 4), rows 64-byte aligned), ``fh`` (float64, (n, 2**11,
    2)), ``par`` (float64, (n, 10)) and ``row`` (int64, (n_cell,): each cell's tables; 0 for
    cells without noise, which do not read them).
    """
    values = np.unique(sigma[sigma > 0.0])
    tabs = [lognormal_tables(float(v)) for v in values]
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


def kernel_inputs(*, seed, cell_key, mix, alias_prob, alias_index, n_groups, tariff, frequency,
                  dispersion, sigma, cap, method) -> KernelInputs:
    """Validate the per-cell inputs once and build every table the kernel reads.

    Parameters
    ----------
    seed : int
        The run's seed.
    cell_key : ndarray(int64, (n_cell,))
        Stable identity of each cell (a hash of its labels; all distinct).
    mix : ndarray(int64, (n_cell,))
        Row of the alias table used by each cell.
    alias_prob : ndarray(float64, (n_mix, K))
    alias_index : ndarray(int64, (n_mix, K))
        Alias tables from :func:`jkn_risk.kernels.alias.build_alias_table`, padded to K.
    n_groups : ndarray(int64, (n_mix,))
        Case groups used in each row (the first ``n_groups`` columns).
    tariff : ndarray(int64, (n_cell, K)) [IDR]
        Tariff per case group, integer rupiah.
    frequency : ndarray(int64, (n_cell,))
        ``FREQ_POISSON`` or ``FREQ_NEGBIN``.
    dispersion : ndarray(float64, (n_cell,)) [1]
        Variance of the gamma frailty (NB only, ``> 0``): ``Var N = m + dispersion m^2``.
    sigma : ndarray(float64, (n_cell,)) [1]
        Lognormal cost-noise sigma, in ``[0, 3]``.
    cap : ndarray(int64, (n_cell,)) [IDR]
        Annual cap per member, or ``NO_CAP``.
    method : ndarray(int64, (n_cell,))
        ``METHOD_INDIVIDUAL`` or ``METHOD_COLLECTIVE`` (the latter only with ``NO_CAP``).

    Returns
    -------
    KernelInputs

    Raises
    ------
    ValueError
        On inconsistent shapes or values, duplicate cell keys, or a collective cell with a cap.
    """
    cell_key = np.ascontiguousarray(cell_key, dtype=np.int64)
    if cell_key.ndim != 1:
        raise ValueError("cell_key must be 1-d")
    n_cell = cell_key.shape[0]
    if np.unique(cell_key).size != n_cell:
        raise ValueError("cell_key must be distinct (two cells would share random streams)")
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

    pow2 = pow2_alias_tables(alias_prob, alias_index, n_groups)
    event, table_row, shift = event_tables(alias_prob, alias_index, n_groups, mix, tariff,
                                           method == METHOD_INDIVIDUAL, pow2=pow2)
    noise_zt, noise_fh, noise_par, noise_row = _noise_tables(sigma)
    cells = np.zeros(n_cell, dtype=CELL_DTYPE)
    for name, values in (("key", cell_key), ("mix", mix), ("frequency", frequency),
                         ("dispersion", dispersion), ("sigma", sigma), ("cap", cap),
                         ("method", method), ("table_row", table_row), ("shift", shift),
                         ("noise_row", noise_row)):
        cells[name] = values
    tables = Tables(event=event, group_prob=group_probabilities(alias_prob, alias_index, n_groups),
                    n_groups=n_groups, tariff=tariff, noise_zt=noise_zt, noise_fh=noise_fh,
                    noise_par=noise_par)
    for a in (cells, *tables):
        a.setflags(write=False)
    return KernelInputs(seed=int(seed), cells=cells, tables=tables)


def simulate_cells(inputs: KernelInputs, sims, rate, members, cost_scale=None,
                   threads=None) -> np.ndarray:
    """Simulate annual claims per (simulation, cell).

    Parameters
    ----------
    inputs : KernelInputs
        From :func:`kernel_inputs` (built once per run).
    sims : ndarray(int64, (n_sim,))
        Simulation indices (stream keys; any subset, any order).
    rate : ndarray(float64, (n_sim, n_cell)) [events per member-year]
        Expected events per member-year for each simulation.
    members : ndarray(int64, (n_sim, n_cell) or (n_cell,)) [member-years]
        Member-years per cell, ``>= 0`` (one row for every simulation when 1-d).
    cost_scale : ndarray(float64, (n_sim, n_cell)), optional [1]
        Factor on every event's amount before the cap; default 1.
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
        On inconsistent shapes or values.
    """
    sims = np.ascontiguousarray(sims, dtype=np.int64)
    if sims.ndim != 1:
        raise ValueError("sims must be 1-d")
    n_sim, n_cell = sims.shape[0], inputs.n_cell
    rate = _as("rate", rate, np.float64, (n_sim, n_cell))
    members = np.asarray(members)
    members = _as("members", np.broadcast_to(members, (n_sim, n_cell)), np.int64, (n_sim, n_cell))
    if cost_scale is None:
        cost_scale = np.ones((n_sim, n_cell))
    cost_scale = _as("cost_scale", cost_scale, np.float64, (n_sim, n_cell))
    if np.any(members < 0):
        raise ValueError("members must be >= 0")
    if not np.all(np.isfinite(rate)) or np.any(rate < 0):
        raise ValueError("rate must be finite and >= 0")
    if not np.all(np.isfinite(cost_scale)) or np.any(cost_scale < 0):
        raise ValueError("cost_scale must be finite and >= 0")
    if threads is not None and int(threads) < 1:
        raise ValueError("threads must be >= 1")

    # Items per (sim, cell): ceil(members / MEMBER_BLOCK) individual, one collective.
    collective = inputs.cells["method"] == METHOD_COLLECTIVE
    blocks = np.where(collective[None, :], 1, -(-members // MEMBER_BLOCK)).astype(np.int64)
    offset = np.zeros(n_sim * n_cell + 1, dtype=np.int64)
    np.cumsum(blocks.ravel(), out=offset[1:])
    out = np.zeros((n_sim * n_cell, N_OUT), dtype=np.int64)
    args = (np.int64(inputs.seed), sims, inputs.cells, inputs.tables, rate, members, cost_scale,
            offset, out)
    n_items = int(offset[-1])
    if n_items <= 1 or threads == 1 or (threads is None and numba.get_num_threads() == 1):
        _simulate_kernel_serial(*args)  # same items, same streams, no thread pool
        return out.reshape(n_sim, n_cell, N_OUT)
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
    return out.reshape(n_sim, n_cell, N_OUT)
