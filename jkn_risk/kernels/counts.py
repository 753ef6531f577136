"""Members by number of events: the per-member count law as a table, split by binomials.

In individual mode a block of ``m`` member-years first draws ``k ~ Binomial(m, P(N >= 1))``
members with at least one event. Instead of drawing each of those ``k`` members' count, the
block draws how many have exactly 1, 2, 3, ... events: ``n_1, n_2, ...`` are multinomial
``(k; P(N = j | N >= 1))``, drawn exactly as the sequential binomials

    n_j ~ Binomial(k - n_1 - ... - n_{j-1}, h_j),   h_j = P(N = j | N >= j)

(the hazard of the count law). Members are exchangeable, so the block's totals have exactly the
law of the member-by-member model; the members of class ``j`` then need ``j`` case groups and
amounts each, and no per-member count draw.

The count law is Poisson(``lam``) or the negative binomial with mean ``lam`` and
``Var = lam + disp lam^2`` (Poisson with a gamma frailty of mean 1 and variance ``disp``:
``pmf(j) = pmf(j - 1) (r + j - 1) q / j`` with ``r = 1 / disp``, ``q = disp lam / (1 + disp lam)``).
The table runs to the first ``J`` beyond the mode whose tail bound ``P(N > J | N >= 1)`` is below
``2**-64``, under the resolution of the 64-bit draws behind every sampler; ``h_J = 1``. The pmf is
built in log space (``log pmf(j) = log pmf(j - 1) + log ratio_j``), so means in the thousands
do not underflow.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from jkn_risk.codes import FREQ_NEGBIN, FREQ_POISSON
from jkn_risk.kernels.sampling import binomial

__all__ = ["positive_probability", "count_hazards", "split_by_count"]

_TAIL = 2.0**-64


@njit(cache=True)
def positive_probability(lam, freq, disp):
    """``P(N >= 1)`` for mean ``lam > 0`` (``freq`` 0 Poisson, 1 negative binomial)."""
    if freq == FREQ_NEGBIN:
        return -math.expm1(-math.log1p(disp * lam) / disp)
    return -math.expm1(-lam)


@njit(cache=True)
def _ratio(j, lam, freq, r, q):
    """``pmf(j) / pmf(j - 1)`` of the untruncated law."""
    if freq == FREQ_NEGBIN:
        return (r + j - 1.0) * q / j
    return lam / j


@njit(cache=True)
def count_hazards(lam, freq, disp):
    """Hazards ``h_j = P(N = j | N >= j)`` for ``j = 1..J`` (``h[j - 1]``; ``h[J - 1] = 1``).

    ``lam > 0``; ``disp > 0`` for the negative binomial. Returns ndarray(float64, (J,)).
    """
    pos = positive_probability(lam, freq, disp)
    r = 1.0 / disp if freq == FREQ_NEGBIN else 0.0
    q = disp * lam / (1.0 + disp * lam) if freq == FREQ_NEGBIN else 0.0
    # log P(N = 1 | N >= 1)
    if freq == FREQ_NEGBIN:
        logp = math.log(r * q) - r * math.log1p(disp * lam) - math.log(pos)
    else:
        logp = math.log(lam) - lam - math.log(pos)
    # Pass 1: find J. Past the mode the ratios decrease (Poisson; NB with r >= 1) or rise
    # towards q (NB with r < 1), so the tail beyond j is at most pmf(j) rho / (1 - rho) with
    # rho = max(ratio_{j+1}, q).
    j = 1
    lp = logp
    while True:
        rho = _ratio(j + 1, lam, freq, r, q)
        if freq == FREQ_NEGBIN:
            rho = max(rho, q)
        if rho < 1.0 and math.exp(lp) * rho / (1.0 - rho) < _TAIL:
            break
        j += 1
        lp += math.log(_ratio(j, lam, freq, r, q))
    n = j
    pmf = np.empty(n)
    lp = logp
    pmf[0] = math.exp(lp)
    for i in range(2, n + 1):
        lp += math.log(_ratio(i, lam, freq, r, q))
        pmf[i - 1] = math.exp(lp)
    # Survival S_j = sum_{i >= j} pmf(i), summed from the small end (no cancellation).
    h = np.empty(n)
    tail = 0.0
    for i in range(n - 1, -1, -1):
        tail += pmf[i]
        h[i] = pmf[i] / tail if tail > 0.0 else 1.0
    h[n - 1] = 1.0
    return h


@njit(cache=True)
def split_by_count(k, h, s0, s1, s2, s3):
    """Split ``k`` members with at least one event by their number of events.

    Returns ``(n, s0, s1, s2, s3)`` with ``n[j - 1]`` members having exactly ``j`` events
    (ndarray(int64, (J,)), ``sum(n) == k``), multinomial with the probabilities behind ``h``.
    """
    n_cls = h.shape[0]
    n = np.zeros(n_cls, dtype=np.int64)
    rem = k
    for j in range(n_cls):
        if rem == 0:
            break
        if j == n_cls - 1:
            c = rem
        else:
            c, s0, s1, s2, s3 = binomial(rem, h[j], s0, s1, s2, s3)
        n[j] = c
        rem -= c
    return n, s0, s1, s2, s3
