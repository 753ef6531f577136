"""Fund risk measures against theory, and their Monte Carlo standard errors against the observed spread.

Independent replicates are stored as the ``year`` dimension of one dataset (every per-year measure is computed
from that column alone), so one call gives hundreds of independent estimates. Fixed seeds; tolerances are what
sampling theory allows.
"""
import numpy as np
import xarray as xr
from scipy import stats

from jkn_risk.report.fund_metrics import LEVEL, fund_risk_measures

MU, SIGMA, MEDICAL = 2.0, 1.0, 8.0       # net assets ~ N(MU, SIGMA) [IDR trillion]; medical cost 8 a year


def dataset(net: np.ndarray) -> xr.Dataset:
    """Net assets (n_sim, n_col) of a one-compartment fund, months of claims 12 x net / MEDICAL."""
    dims = ("sim", "year", "compartment")
    return xr.Dataset({"net_assets": (dims, net[:, :, None]),
                       "months_of_claims": (dims, 12 * net[:, :, None] / MEDICAL)},
                      coords={"year": np.arange(net.shape[1]), "compartment": ["national"]})


def truth() -> dict:
    z = stats.norm.ppf(LEVEL)
    below = lambda x: stats.norm.cdf((x - MU) / SIGMA)           # noqa: E731
    return {"p_negative": below(0.0), "p_months_below_1_5": below(1.5 * MEDICAL / 12),
            "p_months_above_6": 1 - below(6 * MEDICAL / 12),
            "var": -MU + SIGMA * z, "tvar": -MU + SIGMA * stats.norm.pdf(z) / (1 - LEVEL)}


def test_standard_errors_match_the_spread_over_independent_replicates():
    r, n = 300, 10_000
    m = fund_risk_measures(dataset(np.random.default_rng(31).normal(MU, SIGMA, (n, r))))
    rel = 1 / np.sqrt(2 * (r - 1))            # relative SE of a standard deviation from r normal replicates
    for key, true in truth().items():
        est, se = np.array(m[key]), np.array(m[f"{key}_se"])
        ratio = est.std(ddof=1) / se.mean()
        assert abs(ratio - 1) < 3 * rel + 0.03, (key, ratio)
        assert abs(est.mean() - true) < 4 * est.std(ddof=1) / np.sqrt(r), (key, est.mean(), true)


def test_tail_standard_errors_match_their_asymptotic_values():
    n = 10_000
    m = fund_risk_measures(dataset(np.random.default_rng(32).normal(MU, SIGMA, (n, 200))))
    z = stats.norm.ppf(LEVEL)
    var_se = SIGMA * np.sqrt(LEVEL * (1 - LEVEL) / n) / stats.norm.pdf(z)      # sqrt(a(1-a)/n) / f(q)
    # Var(TVaR estimator) = [Var(L | L > q) + a (TVaR - q)^2] / (n (1 - a)) for the N(-MU, SIGMA) loss
    lam = stats.norm.pdf(z) / (1 - LEVEL)
    cond_var = SIGMA**2 * (1 + z * lam - lam**2)
    tvar_se = np.sqrt((cond_var + LEVEL * (SIGMA * (lam - z)) ** 2) / (n * (1 - LEVEL)))
    assert abs(np.mean(m["var_se"]) / var_se - 1) < 0.08, (np.mean(m["var_se"]), var_se)
    assert abs(np.mean(m["tvar_se"]) / tvar_se - 1) < 0.08, (np.mean(m["tvar_se"]), tvar_se)


def test_depletion_year_distribution_and_its_standard_errors():
    """A random walk from 1.5 with N(-0.3, 1) steps: first-passage probabilities below zero by year."""
    r, n, Y = 300, 2000, 3
    rng = np.random.default_rng(33)
    est, se = [], []
    for _ in range(r):
        net = 1.5 + np.cumsum(rng.normal(-0.3, 1.0, (n, Y)), axis=1)
        dep = fund_risk_measures(dataset(net))["depletion"]
        est.append(dep["probability"])
        se.append(dep["se"])
    est, se = np.array(est), np.array(se)
    # theory: with X_t = 1.5 - 0.3 t + W_t, P(X_1 >= 0, ..., X_k >= 0) is a k-variate normal probability
    t = np.arange(1, Y + 1)
    mean, cov = 1.5 - 0.3 * t, np.minimum.outer(t, t).astype(float)
    alive = [1.0] + [stats.multivariate_normal.cdf(np.zeros(k), -mean[:k], cov[:k, :k], abseps=1e-7)
                     for k in range(1, Y + 1)]
    p_true = np.array([alive[k] - alive[k + 1] for k in range(Y)] + [alive[Y]])
    assert np.allclose(est.sum(axis=1), 1.0)
    rel = 1 / np.sqrt(2 * (r - 1))
    ratio = est.std(axis=0, ddof=1) / se.mean(axis=0)
    assert (np.abs(ratio - 1) < 3 * rel + 0.03).all(), ratio
    assert (np.abs(est.mean(axis=0) - p_true) < 4 * est.std(axis=0, ddof=1) / np.sqrt(r)).all(), (est.mean(0), p_true)
