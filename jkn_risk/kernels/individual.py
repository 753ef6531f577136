"""Individual mode: every member-year of a cell simulated, with exact shortcuts.

Per block of ``m`` member-years: ``k ~ Binomial(m, P(N >= 1))`` members with at least one
event, split into classes with exactly 1, 2, 3, ... events by sequential binomials
(:mod:`jkn_risk.kernels.counts`; Poisson, or negative binomial = Poisson with a per-member
gamma frailty of mean 1 and variance ``dispersion``). Each member of class ``j`` gets ``j`` case
groups by the alias method and each event its tariff times the lognormal noise
``exp(sigma Z - sigma^2 / 2)`` (:mod:`jkn_risk.kernels.amounts`, drawn by the ziggurat of
:mod:`jkn_risk.kernels.lognormal`); the member's annual total is then scaled by the
simulation's unit-cost factor and capped. Members are exchangeable, so this has exactly the
distribution of the member-by-member model, in memory independent of membership (four scratch arrays of
``EVENT_BATCH``, the lane states and the count table per block).

Two keys per block. ``key``: a scalar stream for the members with events and their split, and
a bulk stream (``LANES`` SIMD generators, :func:`jkn_risk.rng.fill_u64`) for the case groups.
``noise_key``: a bulk stream for the noise factors' first words and a scalar one for the
completions of rejected boxes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from jkn_risk.kernels.amounts import EVENT_BATCH, fill_amounts, scaled_totals
from jkn_risk.kernels.counts import count_hazards, positive_probability, split_by_count
from jkn_risk.kernels.sampling import binomial
from jkn_risk.rng import LANES, seed_lanes, seed_state

__all__ = ["individual_block", "member_totals"]

_INT64_MAX = np.iinfo(np.int64).max


@njit(inline="always", cache=True)
def member_totals(amt, mb, n_ev, tot):
    """``tot[q]`` = the sum of member ``q``'s ``n_ev`` amounts, ``q < mb`` (``amt`` member-major:
    ``amt[q * n_ev + i]``); the 2- and 3-event classes in loops LLVM vectorises."""
    if n_ev == 2:
        for q in range(mb):
            tot[q] = amt[2 * q] + amt[2 * q + 1]
    elif n_ev == 3:
        for q in range(mb):
            tot[q] = amt[3 * q] + amt[3 * q + 1] + amt[3 * q + 2]
    else:
        for q in range(mb):
            t = 0
            for i in range(q * n_ev, (q + 1) * n_ev):
                t += amt[i]
            tot[q] = t


@njit(cache=True)
def individual_block(key, noise_key, m, lam, freq, disp, table, shift, sigma, cap, scale, zt,
                     fh, par):
    """Simulate a block of ``m`` member-years of one cell; inputs assumed valid.

    Key ``key`` draws the members with events, their split by number of events and the
    case groups; key ``noise_key`` the cost noises (only with ``sigma > 0``).
    ``table[column] = (threshold, own tariff, alias's tariff)`` is the cell's event table
    (:func:`jkn_risk.kernels.amounts.event_tables`) and ``shift`` its ``64 - bits``;
    ``zt, fh, par`` the lognormal tables of the cell's ``sigma``
    (:func:`jkn_risk.kernels.lognormal.lognormal_tables`; unused when ``sigma == 0``).
    ``scale`` multiplies each member's annual total before the cap (rounded half to even to
    the rupiah); with ``scale == 1`` totals are the exact integer sums of the amounts.
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
    batch = (max(EVENT_BATCH, top) + LANES - 1) // LANES * LANES
    amt = np.empty(batch, dtype=np.int64)
    raw = np.empty(batch, dtype=np.uint64)
    noisy = sigma > 0.0
    tz = np.empty(batch if noisy else 0)
    zz = np.empty(batch if noisy else 0)
    tsum = raw.view(np.int64)  # the members' totals, once a batch's raw words are spent
    lanes = np.empty((2, 4, LANES), dtype=np.uint64)
    seed_lanes(key, lanes, 0)
    seed_lanes(noise_key, lanes, 1)
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
                b0, b1, b2, b3 = fill_amounts(True, ne, table, sh, mask, amt, tz, zz, raw,
                                              lanes, b0, b1, b2, b3, zt, fh, par)
            else:
                b0, b1, b2, b3 = fill_amounts(False, ne, table, sh, mask, amt, tz, zz, raw,
                                              lanes, b0, b1, b2, b3, zt, fh, par)
            # Each member's annual total, scaled, then the cap: branch-free loops that LLVM
            # vectorises (the 1-, 2- and 3-event classes hold all but ~0.5% of the members).
            tot = amt
            if n_ev > 1:
                tot = tsum
                member_totals(amt, mb, n_ev, tsum)
                if scale != 1.0:
                    scaled_totals(mb, tsum, scale, tsum)
            elif scale != 1.0:
                tot = tsum
                scaled_totals(mb, amt, scale, tsum)
            for q in range(mb):
                total = tot[q]
                unc += total
                over += np.int64(total > cap_eff)
                capped += min(total, cap_eff)
            done += mb
    return events, k, unc, capped, over
