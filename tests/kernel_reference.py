"""Test helpers for the claims kernel: a slow, obviously correct numpy reference and exact laws.

The reference simulates every member of a cell explicitly (one count per member, one case group
and one amount per event, one annual total per member) with a ``numpy.random.Generator``. It
shares no code and no random stream with the kernel, so agreement is tested in distribution.
"""
from __future__ import annotations

import numpy as np

from jkn_risk.kernels import claims as K
from jkn_risk.kernels.alias import build_alias_table


def reference_cell(rng, members, rate, frequency, dispersion, probs, tariff, sigma, cap):
    """One cell, member by member. Returns the 5 outputs of the kernel (individual mode)."""
    m = int(members)
    if frequency == K.FREQ_NEGBIN:
        frailty = rng.gamma(1.0 / dispersion, dispersion, size=m)  # mean 1, variance dispersion
        counts = rng.poisson(rate * frailty)
    else:
        counts = rng.poisson(rate, size=m)
    n = int(counts.sum())
    groups = rng.choice(len(probs), size=n, p=probs)
    amounts = np.asarray(tariff, dtype=np.int64)[groups]
    if sigma > 0:
        noise = np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma * sigma)
        amounts = np.rint(amounts * noise).astype(np.int64)
    owner = np.repeat(np.arange(m), counts)
    totals = np.zeros(m, dtype=np.int64)
    np.add.at(totals, owner, amounts)
    if cap == K.NO_CAP:
        capped = totals
        over = 0
    else:
        capped = np.minimum(totals, cap)
        over = int((totals > cap).sum())
    return np.array([n, int((counts > 0).sum()), int(totals.sum()), int(capped.sum()), over],
                    dtype=np.int64)


def reference_sims(seed, n_sim, members, rate, frequency, dispersion, probs, tariff, sigma, cap):
    """``n_sim`` independent repetitions of :func:`reference_cell`: ndarray(int64, (n_sim, 5))."""
    rng = np.random.default_rng(seed)
    return np.stack([reference_cell(rng, members, rate, frequency, dispersion, probs, tariff,
                                    sigma, cap) for _ in range(n_sim)])


def one_cell(probs, tariff, *, members, rate, n_sim, frequency=K.FREQ_POISSON, dispersion=1.0,
             sigma=0.0, cap=K.NO_CAP, method=K.METHOD_INDIVIDUAL, seed=12345, sims=None,
             cell_key=0, threads=None):
    """Run the kernel on one cell for ``n_sim`` simulations: ndarray(int64, (n_sim, 5))."""
    ap, ai = build_alias_table(np.asarray(probs, dtype=np.float64))
    k = ap.size
    sims = np.arange(n_sim) if sims is None else np.asarray(sims)
    rate_arr = np.broadcast_to(np.asarray(rate, dtype=np.float64).reshape(-1, 1)
                               if np.ndim(rate) else np.float64(rate), (len(sims), 1))
    out = run_cells(
        seed=seed, sims=sims, cell_key=np.array([cell_key]), members=np.array([members]),
        rate=rate_arr, frequency=np.array([frequency]), dispersion=np.array([dispersion]),
        mix=np.array([0]), alias_prob=ap[None, :], alias_index=ai[None, :],
        n_groups=np.array([k]), tariff=np.asarray(tariff, dtype=np.int64)[None, :],
        sigma=np.array([sigma]), cap=np.array([cap]), method=np.array([method]),
        threads=threads)
    return out[:, 0, :]


def run_cells(*, seed, sims, rate, members, cost_scale=None, threads=None, **cells):
    """:func:`K.kernel_inputs` of ``cells`` then :func:`K.simulate_cells` (one call)."""
    inputs = K.kernel_inputs(seed=seed, **cells)
    return K.simulate_cells(inputs, np.asarray(sims), rate, members, cost_scale, threads=threads)


def multi_cell_inputs(n_cell=6, k=7, seed=3):
    """A small heterogeneous set of cells (mixed Poisson/NB, noise, caps, sizes, two mixes)."""
    rng = np.random.default_rng(seed)
    p1 = rng.random(k) + 0.05
    p2 = np.r_[rng.random(k - 2) + 0.1, 0.0, 0.0]
    tabs = [build_alias_table(p1), build_alias_table(p2[: k - 2])]
    alias_prob = np.ones((2, k))
    alias_index = np.zeros((2, k), dtype=np.int64)
    alias_prob[0], alias_index[0] = tabs[0]
    alias_prob[1, : k - 2], alias_index[1, : k - 2] = tabs[1]
    members = np.array([0, 1_500, 40_000, 2_500_000, 7, 60_000], dtype=np.int64)[:n_cell]
    return dict(
        cell_key=np.arange(100, 100 + n_cell, dtype=np.int64),
        members=members,
        frequency=np.array([0, 1, 0, 1, 0, 1])[:n_cell],
        dispersion=np.array([1.0, 0.5, 1.0, 2.0, 1.0, 1.0])[:n_cell],
        mix=np.array([0, 1, 0, 1, 1, 0])[:n_cell],
        alias_prob=alias_prob, alias_index=alias_index, n_groups=np.array([k, k - 2]),
        tariff=rng.integers(100_000, 20_000_000, size=(n_cell, k)),
        sigma=np.array([0.0, 0.3, 0.0, 0.2, 0.5, 0.0])[:n_cell],
        cap=np.array([-1, 30_000_000, 25_000_000, -1, 1_000_000, -1])[:n_cell],
        method=np.array([0, 0, 0, 0, 0, 1])[:n_cell],
    )


def multi_cell_rate(sims, n_cell=6):
    """Per-simulation rates that depend only on the simulation id (so any split is consistent)."""
    sims = np.asarray(sims)
    base = np.array([0.3, 0.8, 0.05, 0.3, 2.0, 0.4])[:n_cell]
    return base[None, :] * (1.0 + 0.1 * np.sin(sims[:, None] + np.arange(n_cell)[None, :]))


# ---------------------------------------------------------------------------------------------
# Exact laws
# ---------------------------------------------------------------------------------------------
def severity_moments(probs, tariff, sigma, order=4):
    """Raw moments E[X^j], j = 1..order, of one event's amount (before rounding)."""
    p = np.asarray(probs, float) / np.sum(probs)
    t = np.asarray(tariff, float)
    return np.array([np.sum(p * t**j) * np.exp(j * (j - 1) * sigma**2 / 2)
                     for j in range(1, order + 1)])


def compound_cumulants(members, rate, frequency, dispersion, moments):
    """First four cumulants of a cell total ``sum_{i<=N} X_i`` with N the cell's event count.

    The cell count is Poisson(Lambda) with Lambda = M rate (Poisson) or Lambda ~ Gamma(shape
    M/dispersion, scale rate dispersion) (negative binomial: the sum of M iid NB members), so the
    cumulant generating function is K_Lambda(M_X(t) - 1) and by Faa di Bruno
    k1 = a1 m1, k2 = a1 m2 + a2 m1^2, k3 = a1 m3 + 3 a2 m1 m2 + a3 m1^3,
    k4 = a1 m4 + a2 (4 m1 m3 + 3 m2^2) + 6 a3 m1^2 m2 + a4 m1^4,
    with a_j the cumulants of Lambda and m_j the raw moments of X.
    """
    mu = members * rate
    if frequency == K.FREQ_NEGBIN:
        r = members / dispersion
        theta = rate * dispersion
        a = [r * theta, r * theta**2, 2 * r * theta**3, 6 * r * theta**4]
    else:
        a = [mu, 0.0, 0.0, 0.0]
    m1, m2, m3, m4 = moments
    k1 = a[0] * m1
    k2 = a[0] * m2 + a[1] * m1**2
    k3 = a[0] * m3 + 3 * a[1] * m1 * m2 + a[2] * m1**3
    k4 = a[0] * m4 + a[1] * (4 * m1 * m3 + 3 * m2**2) + 6 * a[2] * m1**2 * m2 + a[3] * m1**4
    return k1, k2, k3, k4


def mean_var_z(x, k1, k2, k4):
    """z-scores of the sample mean and the sample variance of ``x`` against exact cumulants.

    SE(mean) = sqrt(k2 / n); SE(s^2) = sqrt((mu4 - (n - 3)/(n - 1) k2^2) / n) with the fourth
    central moment mu4 = k4 + 3 k2^2.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mu4 = k4 + 3 * k2**2
    z_mean = (x.mean() - k1) / np.sqrt(k2 / n)
    z_var = (x.var(ddof=1) - k2) / np.sqrt((mu4 - (n - 3) / (n - 1) * k2**2) / n)
    return z_mean, z_var


def member_total_pmf(probs, lattice_tariff, rate, frequency, dispersion, tol=1e-14):
    """Exact pmf of one member's annual total on the integer lattice (sigma = 0) by FFT.

    ``lattice_tariff`` are positive integers (tariffs divided by their common unit). The pmf is
    ``sum_n P(N = n) f^{*n}`` with the n-fold convolutions done by FFT over a grid large enough
    to hold ``n_max * max tariff`` (no wrap-around), n_max where the count tail is below tol.
    """
    from scipy import stats

    t = np.asarray(lattice_tariff, dtype=np.int64)
    p = np.asarray(probs, float) / np.sum(probs)
    if frequency == K.FREQ_NEGBIN:
        r = 1.0 / dispersion
        law = stats.nbinom(r, 1.0 / (1.0 + dispersion * rate))
    else:
        law = stats.poisson(rate)
    n_max = int(law.isf(tol)) + 2
    size = 1
    while size < n_max * t.max() + 1:
        size *= 2
    f = np.zeros(size)
    np.add.at(f, t, p)
    ff = np.fft.rfft(f)
    pn = law.pmf(np.arange(n_max + 1))
    # Probability generating function of N evaluated at the severity's transform.
    acc = np.zeros_like(ff)
    power = np.ones_like(ff)
    for n in range(n_max + 1):
        acc += pn[n] * power
        power = power * ff
    pmf = np.fft.irfft(acc, size)
    return np.clip(pmf, 0.0, None)


def ad_pvalue(x, y):
    """Two-sample Anderson-Darling p-value (scipy's interpolated table, capped to [0.001, 0.25])."""
    import warnings

    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stats.anderson_ksamp([np.asarray(x), np.asarray(y)]).pvalue
