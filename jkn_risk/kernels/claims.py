"""The member-year claims kernel: member-years → events → case group → cost → annual cap → totals.

Two exact modes, chosen per cell:

*individual* (``METHOD_INDIVIDUAL``)
    Every member-year is simulated, with exact shortcuts for the members' counts: per member
    block the number of members with at least one event is ``Binomial(m, P(N >= 1))``, and
    those are split into classes with exactly 1, 2, 3, ... events by sequential binomials
    (:mod:`jkn_risk.kernels.counts`; the law is Poisson, or negative binomial = Poisson with a
    per-member gamma frailty of mean 1 and variance ``dispersion``). Each member of class ``j``
    then gets ``j`` case groups by the alias method, each event the tariff times the lognormal
    noise ``exp(sigma Z - sigma^2 / 2)`` (mean 1), and the member's annual total is capped.
    Members are exchangeable, so this has exactly the distribution of the member-by-member
    model, in memory independent of membership.
*collective* (``METHOD_COLLECTIVE``; only without a cap)
    The cell's expected count is ``Λ = M rate``, or for the negative binomial ``Λ G`` with a
    cell-level gamma factor ``G ~ Gamma(M / dispersion, scale dispersion / M)`` (the sum of M
    iid NB counts is NB with shape ``M / dispersion``, i.e. Poisson of that gamma). The counts
    per case group are drawn directly as independent ``N_g ~ Poisson(Λ p_g)`` (given ``G``):
    by Poisson splitting this is exactly the law of the cell total ``N ~ Poisson(Λ)`` split
    multinomially over the groups (for the negative binomial, exactly, given ``G``; hence
    unconditionally). O(case groups) per cell with ``sigma == 0``; with ``sigma > 0`` group
    ``g``'s ``N_g`` events each get a noise (O(case groups + events)). ``members_with_events``
    is not drawn there and is returned as ``-1``; ``members_over_cap`` is ``0`` (there is no
    cap) and capped equals uncapped cost.

Rounding: each event's amount is ``rint(tariff * noise)`` (round half to even, as ``np.rint``)
in integer rupiah, the exponential by :func:`jkn_risk.kernels.vecmath.exp_fast` (within 1 ulp
of the C library's) and the normal by the ziggurat; with ``sigma == 0`` it is the tariff
exactly. All money is summed in int64 rupiah, so totals are exact and independent of
summation order.

Random streams: work is split into items ``(sim, cell, member block)`` of ``MEMBER_BLOCK``
members; each item draws from its own xoshiro256** stream keyed by
``stream_key(TAG_CLAIMS, seed, sim, cell_key, block)`` (counts and case groups) and, in
individual mode with noise, ``stream_key(TAG_CLAIMS_NOISE, ...)`` (cost noises). A collective
cell is one item: block 0 holds its gamma factor ``G``, and case group ``g`` draws ``N_g`` from
block ``GROUP_BLOCK + g`` (``2**40 + g``) and its noises from ``NOISE_BLOCK + g``
(``2**41 + g``). Noises are drawn in batches of ``_EVENT_BATCH`` (normals by a two-pass
ziggurat, :func:`jkn_risk.kernels.sampling.normals_batch`), so that batch length is part of the
stream definition, like ``MEMBER_BLOCK``.
Results are therefore bit-identical for any split of ``sims``, any order and any number of
threads, and a cell's numbers do not depend on any other cell (common random numbers).

Within a collective cell the coupling goes down to the case group: ``N_g`` comes from
:func:`jkn_risk.kernels.sampling.poisson_monotone` (inversion of one uniform for small means,
PTRS above), nondecreasing (nearly, for PTRS) in its mean for a fixed stream, and the ``i``-th
event of group ``g`` always gets the ``i``-th noise of its stream. A scenario that scales a
cell's rate by 1.05 thus adds a few events per group to the same draws instead of reshuffling
the cell. In individual mode a changed rate shifts the member loop's draw sequence after the
first member whose count changes, so the coupling there is weaker (only the member blocks and
cells are shared).
"""
from __future__ import annotations


import numba
import numpy as np
from numba import njit, prange

from jkn_risk.kernels.counts import (
    FREQ_NEGBIN,
    FREQ_POISSON,
    count_hazards,
    positive_probability,
    split_by_count,
)
from jkn_risk.kernels.sampling import (
    alias_probabilities,
    binomial,
    gamma,
    normals_batch,
    poisson_monotone,
    pow2_alias_tables,
)
from jkn_risk.kernels.vecmath import bits_from_f64, exp_fast
from jkn_risk.rng import TAG_CLAIMS, TAG_CLAIMS_NOISE, next_u64, seed_state, stream_key

__all__ = [
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
METHOD_INDIVIDUAL, METHOD_COLLECTIVE = 0, 1
NO_CAP = -1
#: Members per random stream (and per work item) in individual mode: 262,144, small enough that
#: a 10 M-member cell is 39 items, which two threads share to within 1%, and large enough that
#: the per-block set-up (count table, binomials, scratch arrays: a few µs) stays below 2%. Part
#: of the stream definition: changing it changes every result (but not their distribution).
MEMBER_BLOCK = 1 << 18
#: Stream block words of collective cells: case group ``g`` draws its count from block
#: ``GROUP_BLOCK + g`` and its cost noises from ``NOISE_BLOCK + g`` (block 0 holds the cell's
#: gamma frailty). Far above any member-block index (members / MEMBER_BLOCK < 2**40), so these
#: streams never meet a member block's. Part of the stream definition, like MEMBER_BLOCK.
GROUP_BLOCK = 1 << 40
NOISE_BLOCK = 1 << 41
#: Events per batch (four scratch arrays of this length per block). Part of the stream
#: definition when sigma > 0 (the ziggurat's redraws follow each batch).
_EVENT_BATCH = 1024
#: Work items processed per parallel region (bounds the scratch memory to a few MB).
_ITEM_CHUNK = 1 << 16


# ---------------------------------------------------------------------------------------------
# Private kernels (inputs assumed valid)
# ---------------------------------------------------------------------------------------------
_INT64_MAX = np.iinfo(np.int64).max
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: y + _MAGIC holds rint(y) in its low bits
_MAGIC_BITS = 0x4338000000000000
_TWO51 = 2.0**51


@njit(inline="always", cache=True)
def _fill_amounts(noise, ne, table, sh, mask, sigma, amt, tz, zz, raw,
                  a0, a1, a2, a3, b0, b1, b2, b3):
    """Amounts in rupiah of ``ne`` events into ``amt[:ne]``: a case group each (stream ``a``)
    and, with ``noise``, a lognormal factor each (stream ``b``).

    Called with a literal ``noise`` flag, so each call site compiles to its own loops. Each
    pass is a tight loop: the case groups (one serial generator chain), the normals
    (:func:`jkn_risk.kernels.sampling.normals_batch`), then the factors and rounding in a
    vectorised pass (:func:`jkn_risk.kernels.vecmath.exp_fast`; ``rint`` and the conversion to
    int64 through the exponent bits, exact below ``2**51`` rupiah; a batch with a larger
    amount is redone by ``np.rint``).
    """
    for i in range(ne):
        v, a0, a1, a2, a3 = next_u64(a0, a1, a2, a3)
        j = np.int64(v >> sh)
        # Branch-free select of the column's own tariff or its alias's (the branch would be
        # unpredictable); threshold and both tariffs share one cache line.
        keep = np.int64((v & mask) < np.uint64(table[j, 0]))
        t_alias = table[j, 2]
        t = t_alias + (table[j, 1] - t_alias) * keep
        if noise:
            tz[i] = float(t)
        else:
            amt[i] = t
    if noise:
        b0, b1, b2, b3 = normals_batch(ne, raw, zz, b0, b1, b2, b3)
        half_var = 0.5 * sigma * sigma
        large = 0
        for i in range(ne):  # vectorised
            y = tz[i] * exp_fast(sigma * zz[i] - half_var)
            large += np.int64(y >= _TWO51)
            amt[i] = bits_from_f64(y + _MAGIC) - _MAGIC_BITS
        if large:
            for i in range(ne):
                amt[i] = np.int64(np.rint(tz[i] * exp_fast(sigma * zz[i] - half_var)))
    return a0, a1, a2, a3, b0, b1, b2, b3


@njit(cache=True)
def _individual_block(key, noise_key, m, lam, freq, disp, table, shift, sigma, cap):
    """Simulate ``m`` member-years of cell ``c``; inputs assumed valid.

    Stream ``key`` draws the members with events, their split by number of events and the
    case groups; stream ``noise_key`` the cost noises (only with ``sigma > 0``).
    ``table[column] = (threshold, own tariff, alias's tariff)`` is the cell's event table
    (:func:`_event_tables`) and ``shift`` its ``64 - bits``.
    Returns ``(events, members_with_events, uncapped, capped, members_over_cap)`` as int64.
    """
    if m <= 0 or lam <= 0.0:
        return 0, 0, 0, 0, 0
    a0, a1, a2, a3 = seed_state(key)
    k, a0, a1, a2, a3 = binomial(m, positive_probability(lam, freq, disp), a0, a1, a2, a3)
    if k == 0:
        return 0, 0, 0, 0, 0
    by_count, a0, a1, a2, a3 = split_by_count(k, count_hazards(lam, freq, disp),
                                              a0, a1, a2, a3)
    top = by_count.shape[0]
    while by_count[top - 1] == 0:
        top -= 1
    batch = max(_EVENT_BATCH, top)
    amt = np.empty(batch, dtype=np.int64)
    noisy = sigma > 0.0
    tz = np.empty(batch if noisy else 0)
    zz = np.empty(batch if noisy else 0)
    raw = np.empty(batch if noisy else 0, dtype=np.uint64)
    b0, b1, b2, b3 = seed_state(noise_key)
    sh = np.uint64(shift)
    mask = (np.uint64(1) << sh) - np.uint64(1)
    cap_eff = cap if cap >= 0 else _INT64_MAX  # branch-free cap: min(total, cap_eff)
    events = 0
    unc = 0
    capped = 0
    over = 0
    for n_ev in range(1, top + 1):
        n_members = by_count[n_ev - 1]
        events += n_ev * n_members
        per_batch = batch // n_ev
        done = 0
        while done < n_members:
            mb = min(per_batch, n_members - done)
            ne = mb * n_ev
            if noisy:
                a0, a1, a2, a3, b0, b1, b2, b3 = _fill_amounts(
                    True, ne, table, sh, mask, sigma, amt, tz, zz, raw,
                    a0, a1, a2, a3, b0, b1, b2, b3)
            else:
                a0, a1, a2, a3, b0, b1, b2, b3 = _fill_amounts(
                    False, ne, table, sh, mask, sigma, amt, tz, zz, raw,
                    a0, a1, a2, a3, b0, b1, b2, b3)
            # Each member's annual total, then the cap.
            if n_ev == 1:
                for i in range(mb):
                    total = amt[i]
                    unc += total
                    over += np.int64(total > cap_eff)
                    capped += min(total, cap_eff)
            else:
                for q in range(mb):
                    total = 0
                    for i in range(q * n_ev, (q + 1) * n_ev):
                        total += amt[i]
                    unc += total
                    over += np.int64(total > cap_eff)
                    capped += min(total, cap_eff)
            done += mb
    return events, k, unc, capped, over


@njit(cache=True)
def _collective_cell(key, seed, sim, ckey, m, lam, freq, disp, mx, c, n_groups, group_prob,
                     tariff, sigma):
    """Cell totals without a cap (collective model); inputs assumed valid.

    ``key`` is the cell's block-0 stream (the negative binomial's cell-level gamma); case group
    ``g`` draws its count from stream ``GROUP_BLOCK + g`` and, with ``sigma > 0``, its noises
    from stream ``NOISE_BLOCK + g`` of ``(seed, sim, ckey)``.
    Returns ``(events, uncapped cost)`` as int64.
    """
    if m <= 0 or lam <= 0.0:
        return 0, 0
    mean = m * lam
    if freq == 1:
        # Sum of m iid NB(1/disp, mean lam) = Poisson(lam * disp * Gamma(m / disp)).
        s0, s1, s2, s3 = seed_state(key)
        frailty, s0, s1, s2, s3 = gamma(m / disp, s0, s1, s2, s3)
        mean = lam * disp * frailty
    ng = n_groups[mx]
    events = 0
    cost = 0
    half_var = 0.5 * sigma * sigma
    zz = np.empty(_EVENT_BATCH if sigma > 0.0 else 0)
    raw = np.empty(_EVENT_BATCH if sigma > 0.0 else 0, dtype=np.uint64)
    # Poisson splitting: independent N_g ~ Poisson(mean p_g), each from its own stream by a
    # sampler monotone in the mean, so a scenario that scales the mean moves each N_g a little
    # instead of reshuffling the whole split (common random numbers).
    for g in range(ng):
        mu = mean * group_prob[mx, g]
        if mu <= 0.0:
            continue
        s0, s1, s2, s3 = seed_state(stream_key(TAG_CLAIMS, seed, sim, ckey, GROUP_BLOCK + g))
        n, s0, s1, s2, s3 = poisson_monotone(mu, s0, s1, s2, s3)
        if n == 0:
            continue
        events += n
        t = tariff[c, g]
        if sigma == 0.0:
            cost += n * t
        else:
            # The group's i-th event always gets the i-th noise of the group's noise stream.
            s0, s1, s2, s3 = seed_state(stream_key(TAG_CLAIMS, seed, sim, ckey, NOISE_BLOCK + g))
            tf = float(t)
            done = 0
            while done < n:
                nb = min(_EVENT_BATCH, n - done)
                s0, s1, s2, s3 = normals_batch(nb, raw, zz, s0, s1, s2, s3)
                large = 0
                part = 0
                for i in range(nb):  # vectorised, as in _fill_amounts
                    y = tf * exp_fast(sigma * zz[i] - half_var)
                    large += np.int64(y >= _TWO51)
                    part += bits_from_f64(y + _MAGIC) - _MAGIC_BITS
                if large:
                    part = 0
                    for i in range(nb):
                        part += np.int64(np.rint(tf * exp_fast(sigma * zz[i] - half_var)))
                cost += part
                done += nb
    return events, cost


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
              table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob,
              block_offset, res):
    """Work item ``it`` = (sim, cell, block): write its 5 outputs into ``res``. Inputs valid."""
    si = it // per_sim
    rr = it - si * per_sim
    c = _find_cell(block_offset, rr)
    b = rr - block_offset[c]
    key = stream_key(TAG_CLAIMS, seed, sims[si], cell_key[c], b)
    lam = rate[si, c]
    if method[c] == 1:
        ev, cost = _collective_cell(key, seed, sims[si], cell_key[c], members[c], lam,
                                    frequency[c], dispersion[c], mix[c], c, n_groups, group_prob,
                                    tariff, sigma[c])
        res[0] = ev
        res[1] = -1
        res[2] = cost
        res[3] = cost
        res[4] = 0
    else:
        m = min(MEMBER_BLOCK, members[c] - b * MEMBER_BLOCK)
        noise_key = stream_key(TAG_CLAIMS_NOISE, seed, sims[si], cell_key[c], b)
        ev, mw, unc, capd, over = _individual_block(
            key, noise_key, m, lam, frequency[c], dispersion[c], table[table_row[c]], cell_shift[c],
            sigma[c], cap[c])
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
                     block_offset, out):
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
                      cap, method,
                      group_prob, block_offset, partial[j])
        _reduce_items(start, n, per_sim, block_offset, partial, out)


@njit(cache=True)
def _simulate_kernel_serial(seed, sims, cell_key, members, rate, frequency, dispersion, mix,
                            table, table_row, cell_shift, n_groups, tariff, sigma, cap, method,
                            group_prob, block_offset, out):
    """As :func:`_simulate_kernel` on the calling thread (one thread or one item: no pool)."""
    per_sim = block_offset[block_offset.shape[0] - 1]
    total = sims.shape[0] * per_sim
    if total == 0:
        return
    res = np.zeros(N_OUT, dtype=np.int64)
    for it in range(total):
        _run_item(it, per_sim, seed, sims, cell_key, members, rate, frequency, dispersion, mix,
                  table, table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob,
                  block_offset, res)
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


def _group_probabilities(alias_prob, alias_index, n_groups):
    """Case-group probabilities per mix, as the alias tables encode them (zero-padded to K).

    Collective mode uses these, individual mode the alias tables: both sample one distribution.
    """
    n_mix, k = alias_prob.shape
    prob = np.zeros((n_mix, k), dtype=np.float64)
    for x in range(n_mix):
        ng = int(n_groups[x])
        prob[x, :ng] = alias_probabilities(alias_prob[x, :ng], alias_index[x, :ng])
    return prob


def _event_tables(alias_prob, alias_index, n_groups, mix, tariff, method):
    """Per individual cell, the power-of-two alias table merged with the cell's tariffs.

    ``table[row, j] = (threshold, tariff[j], tariff[alias[j]])`` (int64; the threshold's bits
    are the uint64 of :func:`jkn_risk.kernels.sampling.pow2_alias_tables`): one 64-bit draw
    ``v`` picks column ``v >> shift`` and pays its own tariff when the low bits are below the
    threshold, else its alias's. Putting the three in one 24-byte row makes an event one cache
    line instead of three dependent loads (2.1 against 5.5 ns per event measured here).

    Returns ``table`` (int64, (rows, 2**max_bits, 3)), ``table_row`` (int64, (n_cell,); the
    row of each individual cell, 0 for collective cells, which do not use it) and ``shift``
    (int64, (n_cell,); ``64 - bits`` of the cell's mix).
    """
    thr, ali, mix_shift = pow2_alias_tables(alias_prob, alias_index, n_groups)
    individual = np.flatnonzero(method == METHOD_INDIVIDUAL)
    width = thr.shape[1]
    k = tariff.shape[1]
    table = np.zeros((max(individual.size, 1), width, 3), dtype=np.int64)
    table_row = np.zeros(method.shape[0], dtype=np.int64)
    cols = np.arange(width)
    own = cols < k  # padded columns have threshold 0: never kept, always aliased
    for row, c in enumerate(individual):
        x = mix[c]
        table_row[c] = row
        table[row, :, 0] = thr[x].view(np.int64)
        table[row, own, 1] = tariff[c, cols[own]]
        table[row, :, 2] = tariff[c, ali[x]]
    return table, table_row, np.ascontiguousarray(mix_shift[mix])


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
        Alias tables from :func:`jkn_risk.kernels.sampling.build_alias_table`, padded to K.
    n_groups : ndarray(int64, (n_mix,))
        Case groups used in each row (the first ``n_groups`` columns).
    tariff : ndarray(int64, (n_cell, K)) [IDR]
        Tariff per case group, integer rupiah.
    sigma : ndarray(float64, (n_cell,)) [1]
        Lognormal cost-noise sigma, ``>= 0``.
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
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError("sigma must be finite and >= 0")
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
    group_prob = _group_probabilities(alias_prob, alias_index, n_groups)
    table, table_row, cell_shift = _event_tables(alias_prob, alias_index, n_groups, mix, tariff,
                                                 method)
    out = np.zeros((n_sim, n_cell, N_OUT), dtype=np.int64)

    args = (np.int64(seed), sims, cell_key, members, rate, frequency, dispersion, mix, table,
            table_row, cell_shift, n_groups, tariff, sigma, cap, method, group_prob, block_offset,
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
