"""Collective mode: a cell's totals without simulating members (exact only without a cap).

The cell's expected count is ``Λ = M rate``, or for the negative binomial ``Λ G`` with a
cell-level gamma factor ``G ~ Gamma(M / dispersion, scale dispersion / M)`` (the sum of M iid NB
counts is NB with shape ``M / dispersion``, i.e. Poisson of that gamma). The counts per case
group are drawn directly as independent ``N_g ~ Poisson(Λ p_g)`` (given ``G``): by Poisson
splitting this is exactly the law of the cell total ``N ~ Poisson(Λ)`` split multinomially over
the groups (for the negative binomial exactly given ``G``, hence unconditionally).
O(case groups) per cell with ``sigma == 0``; with ``sigma > 0`` group ``g``'s ``N_g`` events each
get a noise factor (:func:`jkn_risk.kernels.lognormal.lognormal_batch`).

Streams: block 0 of the cell holds ``G``; group ``g`` draws ``N_g`` from block
``GROUP_BLOCK + g`` and its noises from ``NOISE_BLOCK + g``, by
:func:`jkn_risk.kernels.sampling.poisson_monotone` (nondecreasing in the mean for a fixed
stream, nearly so above mean 30), and the ``i``-th event of a group always gets the ``i``-th
noise of its stream: a scenario that scales a cell's rate by 1.05 adds a few events per group to
the same draws instead of reshuffling the cell (common random numbers down to the group).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from jkn_risk.kernels.amounts import EVENT_BATCH, scaled_amounts
from jkn_risk.kernels.lognormal import lognormal_batch
from jkn_risk.kernels.alias import alias_probabilities
from jkn_risk.kernels.sampling import gamma, poisson_monotone
from jkn_risk.rng import LANES, TAG_CLAIMS, seed_lanes, seed_state, stream_key_from, stream_prefix

__all__ = ["GROUP_BLOCK", "NOISE_BLOCK", "collective_cell", "group_probabilities"]

#: Stream block words of collective cells: case group ``g`` draws its count from block
#: ``GROUP_BLOCK + g`` and its cost noises from ``NOISE_BLOCK + g`` (block 0 holds the cell's
#: gamma frailty). Far above any member-block index (members / MEMBER_BLOCK < 2**40), so these
#: streams never meet a member block's. Part of the stream definition.
GROUP_BLOCK = 1 << 40
NOISE_BLOCK = 1 << 41


@njit(cache=True)
def collective_cell(key, seed, sim, ckey, m, lam, freq, disp, mx, c, n_groups, group_prob,
                    tariff, sigma, zt, fh, par):
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
    nz = EVENT_BATCH if sigma > 0.0 else 0
    tz = np.empty(nz)
    zz = np.empty(nz)
    raw = np.empty(nz, dtype=np.uint64)  # EVENT_BATCH is a multiple of LANES
    lanes = np.empty((1, 4, LANES), dtype=np.uint64)
    amt = np.empty(nz, dtype=np.int64)
    # Poisson splitting: independent N_g ~ Poisson(mean p_g), each from its own stream by a
    # sampler monotone in the mean, so a scenario that scales the mean moves each N_g a little
    # instead of reshuffling the whole split (common random numbers).
    prefix = stream_prefix(TAG_CLAIMS, seed, sim, ckey)  # the streams (seed, sim, cell, block)
    for g in range(ng):
        mu = mean * group_prob[mx, g]
        if mu <= 0.0:
            continue
        s0, s1, s2, s3 = seed_state(stream_key_from(prefix, GROUP_BLOCK + g))
        n, s0, s1, s2, s3 = poisson_monotone(mu, s0, s1, s2, s3)
        if n == 0:
            continue
        events += n
        t = tariff[c, g]
        if sigma == 0.0:
            cost += n * t
        else:
            # The group's i-th event always gets the i-th noise of the group's noise stream.
            noise_key = stream_key_from(prefix, NOISE_BLOCK + g)
            seed_lanes(noise_key, lanes, 0)
            s0, s1, s2, s3 = seed_state(noise_key)
            tz[: min(EVENT_BATCH, n)] = float(t)  # O(events), not O(groups x batch)
            done = 0
            while done < n:
                nb = min(EVENT_BATCH, n - done)
                s0, s1, s2, s3 = lognormal_batch(nb, raw, zz, lanes, 0, s0, s1, s2, s3, zt, fh,
                                                 par)
                scaled_amounts(nb, tz, zz, amt)
                for i in range(nb):
                    cost += amt[i]
                done += nb
    return events, cost


def group_probabilities(alias_prob, alias_index, n_groups):
    """Case-group probabilities per mix, as the alias tables encode them (zero-padded to K).

    Collective mode uses these, individual mode the alias tables: both sample one distribution.
    """
    n_mix, k = alias_prob.shape
    prob = np.zeros((n_mix, k), dtype=np.float64)
    for x in range(n_mix):
        ng = int(n_groups[x])
        prob[x, :ng] = alias_probabilities(alias_prob[x, :ng], alias_index[x, :ng])
    return prob
