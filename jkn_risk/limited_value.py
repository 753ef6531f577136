"""Expected claims under the per-member annual cap: the limited expected value E[min(T, cap)].

A member's annual total in a capped cell is ``T = s a S`` with ``S = X_1 + ... + X_N``: ``N``
the member's events in the year (Poisson with the cell's rate, or negative binomial: Poisson
with a gamma frailty of mean 1 and variance ``dispersion``), ``X_i`` iid amounts of the case
mix's *base* tariffs times the mean-one lognormal cost noise, ``a`` the cell's tariff multiplier
and ``s`` the simulation's unit-cost scale (the kernel scales the member's total before the
cap). So ``E[min(T, cap)] = s a E[min(S, u)]`` with ``u = cap / (s a)``, and

    E[min(S, u)] = sum_n P(N = n) G_n(u),   G_n(u) = E[min(S_n, u)],  S_n = X_1 + ... + X_n.

``G_n`` depends only on the case mix and the noise, not on the simulation: it is built once
per run on a lattice of step ``h`` up to ``U = cap / (a_min S_FLOOR)``. Each amount is put on
the lattice by local moment matching (mass split between the two neighbouring points so that
the mean is kept), amounts above ``U`` are lumped at ``U`` (``min(S_n, u)`` with ``u <= U``
depends on the ``X_i`` only through ``min(X_i, U)``), and ``S_n``'s lattice law comes from
``S_{n-1}``'s by one FFT convolution, lumped at ``U`` again, so nothing wraps around. On the
lattice ``G_n(kh) = h sum_{j<k} P(S_n > jh)`` exactly, linear in between.

Accuracy: each lattice amount is a mean-preserving spread of the exact one (it lands on one of
the two neighbouring points, with the exact mean), so ``S_n``'s lattice law is a mean-preserving
spread of the exact law and, ``min(., u)`` being concave, the lattice value is a lower bound
(Jensen); coupling moves each amount by less than ``h`` and ``min(., u)`` is 1-Lipschitz, so it
is within ``E[N] h`` per member (``h = U / GRID``: about 100 kIDR for a 100 M cap on the 2014
mixes). The bound is crude; the error is second order in ``h`` in practice (a cap that never
binds gives the uncapped mean to the rupiah: every spread is mean-preserving). Counts above ``n_max`` (probability < ``TAIL`` at ``RATE_MARGIN`` times the
largest rate of the run) and simulations with ``s < S_FLOOR`` are bounded, not dropped: the
former get ``G_{n_max}`` (a lower bound), the latter ``G_n(U) + (u - U) P(S_n > U)`` (an upper
bound). The integer rounding of tariffs and amounts (below half a rupiah per event) is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.signal import fftconvolve
from scipy.special import ndtr
from scipy.stats import nbinom, poisson

from jkn_risk.codes import FREQ_NEGBIN

__all__ = ["GRID", "S_FLOOR", "RATE_MARGIN", "TAIL", "LimitedValue", "MixCurves", "severity_lattice",
           "limited_curves", "build_limited_value", "expected_capped_claims"]

#: Lattice points of the amounts and annual totals between 0 and ``U``.
GRID = 4096
#: The smallest unit-cost scale the lattice covers exactly (smaller ones are bounded).
S_FLOOR = 0.25
#: ``n_max`` covers counts up to this multiple of the run's largest deterministic rate.
RATE_MARGIN = 4.0
#: Probability of a count above ``n_max`` at ``RATE_MARGIN`` times the largest rate.
TAIL = 1e-12
#: The lognormal noise's law is discretised on ``t exp(+-_WIDTH sigma)`` (mass outside < 1e-15).
_WIDTH = 8.0


class MixCurves(NamedTuple):
    """One capped case mix's limited expected values on its lattice."""

    step: float          # the lattice step h [IDR of base tariffs]
    values: np.ndarray   # (n_max + 1, GRID + 1) G_n(k h) [IDR]
    lumps: np.ndarray    # (n_max + 1,) P(S_n >= U)


@dataclass(frozen=True, eq=False)
class LimitedValue:
    """``G_n(u)`` per capped case mix, built once per run.

    cap : float [IDR], the per-member annual cap
    curves : dict (r, c) -> MixCurves, for every case mix of a capped care type
    """

    cap: float
    curves: dict[tuple[int, int], MixCurves]


def severity_lattice(tariff: np.ndarray, probability: np.ndarray, sigma: float, h: float,
                     n: int) -> np.ndarray:
    """One event's amount ``t_g Z`` on the lattice ``0, h, ..., n h``, amounts above ``n h``
    lumped at ``n h`` (ndarray(float64, (n + 1,)), sums to 1).

    ``tariff`` (K,) [IDR] and ``probability`` (K,) are the case groups; ``Z`` is lognormal with
    mean 1 and log-sd ``sigma`` (``sigma = 0``: ``Z = 1``). Mass between two lattice points is
    split between them so that its mean is kept (local moment matching).
    """
    f = np.zeros(n + 1)
    top = n * h
    t = np.asarray(tariff, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    keep = p > 0
    t, p = t[keep], p[keep]
    if sigma == 0.0:
        over = t >= top
        f[n] += p[over].sum()
        x = t[~over] / h
        j = np.floor(x).astype(np.int64)
        w = x - j
        np.add.at(f, j, p[~over] * (1.0 - w))
        np.add.at(f, j + 1, p[~over] * w)
        return f
    for tg, pg in zip(t, p):
        lo = int(np.floor(tg * np.exp(-_WIDTH * sigma) / h))
        hi = int(np.ceil(tg * np.exp(_WIDTH * sigma) / h))
        hi = min(hi, n)
        if lo >= n:
            f[n] += pg
            continue
        edges = np.arange(lo, hi + 1) * h  # interval [edges[i], edges[i + 1])
        with np.errstate(divide="ignore"):
            z = (np.log(edges / tg) + 0.5 * sigma * sigma) / sigma
        cdf = ndtr(z)                       # P(X <= x)
        pm = tg * ndtr(z - sigma)           # E[X; X <= x]
        mass = np.diff(cdf)
        mean = np.diff(pm)
        left = np.arange(lo, hi)
        np.add.at(f, left, pg * (mass * (left + 1) - mean / h))
        np.add.at(f, left + 1, pg * (mean / h - mass * left))
        if hi == n:
            f[n] += pg * (1.0 - cdf[-1])
    return f


def limited_curves(f: np.ndarray, h: float, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``G_n(k h) = E[min(S_n, k h)]`` for ``n = 0 .. n_max``, ``k = 0 .. len(f) - 1``, and the
    lumps ``P(S_n >= U)``, from one amount's lattice law ``f`` (lumped at ``U``)."""
    n = f.size - 1
    curves = np.zeros((n_max + 1, n + 1))
    lumps = np.zeros(n_max + 1)
    law = np.zeros(n + 1)
    law[0] = 1.0  # S_0 = 0
    for k in range(1, n_max + 1):
        full = fftconvolve(law, f)
        law = np.maximum(full[: n + 1], 0.0)  # FFT round-off below 1e-16 clipped
        law[n] = max(full[n:].sum(), 0.0)
        above = np.cumsum(law[::-1])[::-1]     # above[j] = P(S_k >= j h)
        survival = above[1:]                  # P(S_k > j h), j = 0 .. n - 1
        curves[k, 1:] = h * np.cumsum(survival)
        lumps[k] = law[n]
    return curves, lumps


def _count_pmf(n_max: int, lam: np.ndarray, frequency: int, dispersion: float) -> np.ndarray:
    """``P(N = n)``, ``n = 0 .. n_max`` (last axis), and ``P(N > n_max)`` added to the last."""
    n = np.arange(n_max + 1)
    lam = np.asarray(lam, dtype=np.float64)[..., None]
    if frequency == FREQ_NEGBIN and dispersion > 0:
        r = 1.0 / dispersion
        pmf = nbinom.pmf(n, r, r / (r + lam))
        tail = nbinom.sf(n_max, r, r / (r + lam[..., 0]))
    else:
        pmf = poisson.pmf(n, lam)
        tail = poisson.sf(n_max, lam[..., 0])
    pmf[..., -1] += tail  # counts above n_max get G_{n_max}: a lower bound
    return pmf


def _tail(n: int, lam: float, frequency: int, dispersion: float) -> float:
    """``P(N > n)`` at rate ``lam``."""
    if frequency == FREQ_NEGBIN and dispersion > 0:
        r = 1.0 / dispersion
        return float(nbinom.sf(n, r, r / (r + lam)))
    return float(poisson.sf(n, lam))


def _n_max(lam: float, frequency: int, dispersion: float) -> int:
    """The smallest ``n >= 1`` with ``P(N > n) < TAIL`` at rate ``lam``."""
    n = 1
    while _tail(n, lam, frequency, dispersion) >= TAIL:
        n += 1
    return n


def build_limited_value(params) -> LimitedValue | None:
    """``G_n`` for every case mix of a capped care type of ``params`` (None: no cap)."""
    if params.annual_cap is None or not any(params.cap_care):
        return None
    cap = float(params.annual_cap)
    curves = {}
    ibnr_max = np.array([f if smp is None else max(float(np.max(smp)), f)
                         for f, smp in zip(params.ibnr_factor, params.ibnr_samples)])
    for (r, c), mix in params.case_mix.items():
        if not params.cap_care[c]:
            continue
        a = params.tariff_multiplier[:, r, :, c]
        if not np.any(a > 0):  # no tariff, no claims: the uncapped expectation (0) stands
            continue
        h = cap / (float(a[a > 0].min()) * S_FLOOR) / GRID
        lam = RATE_MARGIN * float(params.rate[:, r, :, c].max()) * ibnr_max[c]
        n_max = _n_max(lam, params.frequency, params.dispersion)
        f = severity_lattice(mix.base_tariff, mix.probability, params.cost_noise_sigma, h, GRID)
        curves[r, c] = MixCurves(h, *limited_curves(f, h, n_max))
    return LimitedValue(cap=cap, curves=curves)


def expected_capped_claims(lv: LimitedValue, params, members: np.ndarray, rate: np.ndarray,
                           cost_scale: np.ndarray, expected_uncapped: np.ndarray) -> np.ndarray:
    """Expected CBG claims per cell after the cap, given the drawn assumptions.

    Parameters
    ----------
    lv : LimitedValue, from :func:`build_limited_value`
    params : Parameters
    members : ndarray(float64, (n, Y, R, S)) [member-years]
    rate : ndarray(float64, (n, Y, R, S, C)) [events per member-year], IBNR factor included
    cost_scale : ndarray(float64, (n, Y, R, S, C)) [1]
    expected_uncapped : ndarray(float64, (n, Y, R, S, C)) [IDR], used for uncapped care types

    Returns
    -------
    ndarray(float64, (n, Y, R, S, C)) [IDR]: ``members E[min(T, cap)]`` where the cap applies
    """
    out = np.array(expected_uncapped, dtype=np.float64)
    for (r, c), (h, curve, lump) in lv.curves.items():
        n_max = curve.shape[0] - 1
        scale = params.tariff_multiplier[None, :, r, :, c] * cost_scale[:, :, r, :, c]  # (n, Y, S)
        u = lv.cap / np.where(scale > 0, scale, np.inf) / h   # in lattice steps
        inside = np.minimum(u, GRID)
        k = np.minimum(np.floor(inside).astype(np.int64), GRID - 1)
        w = inside - k
        g = curve[:, k] + w * (curve[:, k + 1] - curve[:, k])           # (n_max + 1, n, Y, S)
        g = g + np.maximum(u - GRID, 0.0) * h * lump[:, None, None, None]  # beyond U: upper bound
        pmf = _count_pmf(n_max, rate[:, :, r, :, c], params.frequency, params.dispersion)
        per_member = scale * np.einsum("...n,n...->...", pmf, g)
        out[:, :, r, :, c] = members[:, :, r, :] * per_member
    return out
