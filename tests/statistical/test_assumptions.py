"""Uncertain assumptions (:mod:`jkn_risk.assumptions`) against theory, and the keyed streams.

One config exercises every driver (``SPEC``, on the six years of ``configs/jkn2014.yaml``);
``N`` simulations are drawn once with :func:`draw` (no kernel). Every statistical check compares
an estimate with its theoretical value within ``K = 4`` standard errors; each test says how its
SE is derived. The theory here is written from the model's equations (docstring of
:mod:`jkn_risk.assumptions`), never from the module's own helpers.

AR(1) drivers: the log-growth deviations are recovered from the factor paths as
``d_t = diff_t(log F + V/2)`` with ``V_t = Var(G_t)``; without a long-run mean ``d_t = x_t``.
Collection drivers: ``d_t = logit c_t - logit c*_t - a_t`` on the logit scale.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import logit

from jkn_risk.assumptions import ar1_log_variance, build_assumption_model, draw
from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.schema_uncertainty import AR1, Uncertainty

from tests.conftest import BASELINE

K = 4.0
N = 100_000
CORR = ["utilization.outpatient.trend", "wage", "membership.PPU", "collection.BP"]
RHO = [[1.0, 0.5, 0.3, -0.2], [0.5, 1.0, 0.4, 0.0], [0.3, 0.4, 1.0, 0.1], [-0.2, 0.0, 0.1, 1.0]]
SPEC = {
    "utilization": {
        "inpatient": {"level": 0.05, "trend": {"sigma": 0.04, "phi": 0.6, "long_run_sigma": 0.03}},
        "outpatient": {"level": 0.08, "trend": {"sigma": 0.03, "phi": -0.4}}},
    "unit_cost": {"inpatient": {"level": 0.1}, "outpatient": {"level": 0.06},
                  "tariff": {"sigma": 0.02, "phi": 0.3, "jump_probability": 0.3, "jump_mean": 0.03,
                             "jump_sigma": 0.05}},
    "non_cbg": {"level": 0.05, "trend": {"sigma": 0.03, "phi": 0.5}},
    "wage": {"sigma": 0.05, "phi": 0.6},
    "collection": {"PBPU": {"sigma": 0.4, "phi": 0.6, "long_run_sigma": 0.2},
                   "BP": {"sigma": 0.3, "phi": 0.2}},
    "membership": {"PPU": {"sigma": 0.03, "phi": 0.5},
                   "PBPU": {"sigma": 0.05, "phi": 0.7, "long_run_sigma": 0.03}},
    "shock": {"probability": 0.1, "log_multiplier": {"mean": 0.1, "sigma": 0.2}, "duration": 3},
    "investment_yield": {"sigma": 0.2, "phi": 0.5, "long_run_sigma": 0.1},
    "correlation": {"drivers": CORR, "matrix": RHO},
}
LEVELS = ["utilization.inpatient.level", "utilization.outpatient.level", "unit_cost.inpatient.level",
          "unit_cost.outpatient.level", "non_cbg.level"]
GROWTH = ["utilization.inpatient.trend", "utilization.outpatient.trend", "non_cbg.trend", "wage",
          "membership.PPU", "membership.PBPU", "investment_yield"]
COLLECTION = ["collection.PBPU", "collection.BP"]
ACTIVE = LEVELS + GROWTH + COLLECTION + ["unit_cost.tariff", "shock"]


def spec_of(name: str, spec: dict = SPEC) -> dict:
    node = spec
    for part in name.split("."):
        node = node[part]
    return node


def level_sigma(name: str) -> float:
    return spec_of(name.removesuffix(".level"))["level"]


def ar(name: str) -> tuple[float, float, float]:
    s = spec_of(name)
    return s["sigma"], s["phi"], s.get("long_run_sigma", 0.0)


def overrides(spec: dict) -> list[str]:
    return [f"uncertainty={json.dumps(spec)}"]


def var_g(sigma: float, phi: float, lr: float, t: int) -> float:
    """Var(G_t), G_t = sum_{u=1..t} (mu + x_u): the double sum of Cov(x_u, x_w) = v phi^|u-w|."""
    u = np.arange(1, t + 1)
    v = sigma ** 2 / (1 - phi ** 2)
    return t * t * lr ** 2 + v * float(np.sum(phi ** np.abs(u[:, None] - u[None, :])))


def within(est, theory, se, what, k=K):
    """'' when |est - theory| <= k se, else a line for the failure list."""
    z = (est - theory) / se
    return "" if abs(z) <= k else f"{what}: {est:.6g} vs {theory:.6g} ({z:+.1f} SE, SE {se:.3g})"


def assert_all(lines):
    bad = [x for x in lines if x]
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module")
def params():
    return build_parameters(load_config(BASELINE), ibnr_bootstrap=False)


def model_for(spec: dict, extra=()):
    cfg = load_config(BASELINE, overrides(spec) + list(extra))
    return build_assumption_model(build_parameters(cfg, ibnr_bootstrap=False), cfg.uncertainty)


@pytest.fixture(scope="module")
def model():
    return model_for(SPEC)


@pytest.fixture(scope="module")
def draws(model):
    return draw(model, np.arange(N))


def deviations(model, d, name: str) -> np.ndarray:
    """``mu + x_t`` for t = 1..Y-1, (n, Y-1), recovered from the drawn paths."""
    if name.startswith("collection."):
        j = model.segments.index(name.split(".")[1])
        c_det = model.collection_det[1:, j]
        return logit(d.collection[:, 1:, j]) - logit(c_det) - model.collection_shift[1:, j]
    sigma, phi, lr = ar(name)
    v = np.array([var_g(sigma, phi, lr, t) for t in range(model.years.size)])
    return np.diff(np.log(d[name]) + v / 2, axis=1)


# --------------------------------------------------------------------------- means
def test_the_config_makes_exactly_the_expected_drivers_random(model, draws):
    assert set(model.active) == set(ACTIVE)
    for k, name in enumerate(model.drivers):
        if name not in ACTIVE:
            assert np.all(draws.factor[:, :, k] == 1.0), name
    for j, seg in enumerate(model.segments):
        if f"collection.{seg}" not in ACTIVE:
            assert np.array_equal(draws.collection[:, :, j],
                                  np.broadcast_to(model.collection_det[:, j], (N, 6)))


def test_every_mean_preserving_factor_has_mean_one(draws):
    """Levels, AR(1) trends with and without a long-run mean, the tariff with jumps, wage,
    membership and the investment yield: ``|mean F_t - 1| <= 4 sd(F_t) / sqrt(N)`` per driver and
    year (the CLT SE of a sample mean, sd estimated; F_t is lognormal-like with finite
    variance). AR paths start at exactly 1 in the base year; levels are the same every year."""
    out = []
    for name in LEVELS + GROWTH + ["unit_cost.tariff"]:
        f = draws[name]
        if name in LEVELS:
            assert np.array_equal(f, np.broadcast_to(f[:, :1], f.shape)), name
        else:
            assert np.all(f[:, 0] == 1.0), name
        for t in range(0 if name in LEVELS else 1, f.shape[1]):
            out.append(within(f[:, t].mean(), 1.0, f[:, t].std(ddof=1) / np.sqrt(N), f"{name} t={t}"))
    assert_all(out)


def test_levels_are_lognormal_with_the_configured_sigma(draws):
    """``log F = s Z - s^2/2``: sample mean and sd of log F against ``-s^2/2`` and ``s``
    (SEs ``s / sqrt(N)`` and ``s / sqrt(2 (N - 1))``, exact for normal samples)."""
    out = []
    for name in LEVELS:
        s, y = level_sigma(name), np.log(draws[name][:, 0])
        out.append(within(y.mean(), -s * s / 2, s / np.sqrt(N), f"{name} log mean"))
        out.append(within(y.std(ddof=1), s, s / np.sqrt(2 * (N - 1)), f"{name} log sd"))
    assert_all(out)


def test_collection_mean_is_the_deterministic_rate(model, draws):
    """The mean-preserving logit shift: ``|mean c_t - c*_t| <= 4 sd(c_t) / sqrt(N)`` per segment
    and year; the base year is the deterministic rate itself."""
    out = []
    for name in COLLECTION:
        j = model.segments.index(name.split(".")[1])
        c = draws.collection[:, :, j]
        assert np.all(c[:, 0] == model.collection_det[0, j])
        assert np.allclose(draws[name], c / model.collection_det[:, j], rtol=1e-15, atol=0)
        for t in range(1, c.shape[1]):
            out.append(within(c[:, t].mean(), model.collection_det[t, j],
                              c[:, t].std(ddof=1) / np.sqrt(N), f"{name} t={t}"))
    assert_all(out)


@pytest.mark.parametrize("sigma, phi, lr", [(0.3, 0.0, 0.0), (1.0, 0.6, 0.0), (1.0, 0.9, 0.5),
                                            (1.0, 0.995, 0.0), (1.0, 0.99944, 0.0)],
                         ids=["sd0.3", "sd1.25", "sd2.35", "sd10", "sd30"])
def test_the_collection_shift_is_mean_preserving_by_quadrature(params, sigma, phi, lr):
    """``E[expit(logit c* + a + sd Z)] = c*`` to 1e-10 with the model's shift ``a``, by adaptive
    quadrature split at the logistic's centre, for a stationary logit sd up to 30 (the schema
    allows any phi < 1). Deterministic: no Monte Carlo error."""
    drv = AR1(sigma=sigma, phi=phi, long_run_sigma=lr)
    model = build_assumption_model(params, Uncertainty(collection={"PBPU": drv, "BP": drv}))
    sd = np.sqrt(lr ** 2 + sigma ** 2 / (1 - phi ** 2))
    for seg in ("PBPU", "BP"):
        j = model.segments.index(seg)
        for t in range(1, model.years.size):
            c = model.collection_det[t, j]
            m = logit(c) + model.collection_shift[t, j]
            z0 = -m / sd  # the logistic's centre: quad integrates each smooth side
            e = sum(integrate.quad(_logit_normal_integrand, lo, hi, args=(m, sd), epsabs=1e-15,
                                   epsrel=1e-13, limit=200)[0]
                    for lo, hi in ((-np.inf, z0), (z0, np.inf)))
            assert abs(e - c) < 1e-10, (seg, t, sd, e - c)


def _logit_normal_integrand(z: float, m: float, sd: float) -> float:
    """``expit(m + sd z) phi(z)`` for scalars (scipy.stats' pdf is 100 times slower here)."""
    a = m + sd * z
    logistic = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
    return logistic * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def test_collection_stays_strictly_inside_zero_one_with_a_large_sigma(model):
    """The largest sigma the schema allows, with persistent deviations (a logit sd of 2.35 and,
    for BP, 10): every drawn rate strictly inside (0, 1) and still mean-preserving (4 SE)."""
    spec = {"collection": {"PBPU": {"sigma": 1.0, "phi": 0.9, "long_run_sigma": 0.5},
                           "BP": {"sigma": 1.0, "phi": 0.995}}}
    m = model_for(spec)
    c = draw(m, np.arange(N)).collection
    out = []
    for seg in ("PBPU", "BP"):
        j = m.segments.index(seg)
        assert np.all((c[:, :, j] > 0) & (c[:, :, j] < 1)), seg
        for t in range(1, c.shape[1]):
            out.append(within(c[:, t, j].mean(), m.collection_det[t, j],
                              c[:, t, j].std(ddof=1) / np.sqrt(N), f"{seg} t={t}"))
    assert_all(out)


# --------------------------------------------------------------------------- AR(1)
@pytest.mark.parametrize("name", ["utilization.outpatient.trend", "non_cbg.trend", "wage",
                                  "membership.PPU", "collection.BP"])
def test_ar1_recovers_sigma_phi_and_the_stationary_variance(model, draws, name):
    """Drivers without a long-run mean, so ``d_t = x_t`` (t = 1..5).

    * sigma: the innovations ``x_t - phi x_{t-1}`` (t = 2..5, 4 N iid normals) have sample
      sd within ``4 sigma / sqrt(2 * 4N)`` of sigma (SE of a normal sample's sd);
    * stationary start: ``Var(x_t) = sigma^2 / (1 - phi^2)`` for every t, SE of a sample
      variance of N normals ``v sqrt(2 / N)``;
    * phi: the lag-1 autocorrelation ``sum x_t x_{t-1} / sqrt(sum x_t^2 sum x_{t-1}^2)``
      over the 4 pairs of each path, computed in 50 independent batches of N/50 paths; its SE is
      the spread of the batch estimates / sqrt(50) (batch means: the 4 pairs of one path are
      dependent, so the iid-pair formula ``(1 - phi^2) / sqrt(n_pairs)`` does not apply).
    """
    sigma, phi, _ = ar(name)
    x = deviations(model, draws, name)
    u = x[:, 1:] - phi * x[:, :-1]
    n_u = u.size
    out = [within(np.sqrt(np.mean(u * u)), sigma, sigma / np.sqrt(2 * n_u), f"{name} sigma")]
    v = sigma ** 2 / (1 - phi ** 2)
    for t in range(x.shape[1]):
        out.append(within(np.mean(x[:, t] ** 2), v, v * np.sqrt(2 / N), f"{name} Var x_{t + 1}"))
    batches = x.reshape(50, N // 50, -1)
    a, b = batches[:, :, 1:], batches[:, :, :-1]
    r = (a * b).sum(axis=(1, 2)) / np.sqrt((a * a).sum(axis=(1, 2)) * (b * b).sum(axis=(1, 2)))
    out.append(within(r.mean(), phi, r.std(ddof=1) / np.sqrt(r.size), f"{name} phi"))
    assert_all(out)


@pytest.mark.parametrize("name", ["utilization.inpatient.trend", "membership.PBPU",
                                  "investment_yield"])
def test_long_run_mean_variance_grows_as_theory(draws, name):
    """``log F_t = G_t - V_t / 2`` with ``V_t = t^2 lr^2 + sum_{u,w<=t} v phi^|u-w|``:
    ``mean log F_t = -V_t/2`` (SE ``sqrt(V_t / N)``) and ``Var(log F_t) = V_t`` (SE of a
    normal sample variance ``V_t sqrt(2 / N)``), t = 1..5; the growth deviations
    ``d_t = mu + x_t`` have ``Var d_t = lr^2 + v`` and ``Cov(d_t, d_{t-1}) = lr^2 + v phi``
    (SE ``sd(d_t d_{t-1}) / sqrt(N)``)."""
    sigma, phi, lr = ar(name)
    y = np.log(draws[name])
    out = []
    for t in range(1, y.shape[1]):
        vt = var_g(sigma, phi, lr, t)
        out.append(within(y[:, t].mean(), -vt / 2, np.sqrt(vt / N), f"{name} mean log F_{t}"))
        out.append(within(y[:, t].var(ddof=1), vt, vt * np.sqrt(2 / N), f"{name} Var log F_{t}"))
    v = sigma ** 2 / (1 - phi ** 2)
    d = np.diff(y + np.array([var_g(sigma, phi, lr, t) for t in range(y.shape[1])]) / 2, axis=1)
    for t in range(1, d.shape[1]):
        p = d[:, t] * d[:, t - 1]
        out.append(within(p.mean(), lr ** 2 + v * phi, p.std(ddof=1) / np.sqrt(N),
                          f"{name} Cov(d_{t + 1}, d_{t})"))
        out.append(within(np.mean(d[:, t] ** 2), lr ** 2 + v, (lr ** 2 + v) * np.sqrt(2 / N),
                          f"{name} Var d_{t + 1}"))
    assert_all(out)


def test_collection_long_run_mean_on_the_logit_scale(model, draws):
    """``d_t = mu + x_t`` is stationary: ``Var d_t = lr^2 + v`` every year (normal variance SE)
    and ``Cov(d_t, d_s) = lr^2 + v phi^|t-s|`` (SE ``sd(d_t d_s) / sqrt(N)``)."""
    sigma, phi, lr = ar("collection.PBPU")
    d = deviations(model, draws, "collection.PBPU")
    v = sigma ** 2 / (1 - phi ** 2)
    out = []
    for t in range(d.shape[1]):
        for s in range(t + 1):
            p = d[:, t] * d[:, s]
            theory = lr ** 2 + v * phi ** (t - s)
            se = theory * np.sqrt(2 / N) if s == t else p.std(ddof=1) / np.sqrt(N)
            out.append(within(p.mean(), theory, se, f"Cov(d_{t + 1}, d_{s + 1})"))
    assert_all(out)


def test_ar1_log_variance_is_the_double_sum():
    """The closed form behind the mean-one correction equals the covariance double sum."""
    for sigma, phi, lr in [(0.05, 0.6, 0.0), (0.2, -0.7, 0.1), (1.0, 0.95, 0.5), (0.03, 0.0, 0.02)]:
        got = ar1_log_variance(sigma, phi, lr, np.arange(12))
        want = [var_g(sigma, phi, lr, t) for t in range(12)]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_tariff_with_jumps_has_the_theoretical_log_moments(draws):
    """``log F_t = G_t - V_t/2 + S_t - t log E``, ``S_t`` a sum of t Bernoulli(p) x N(m, s^2)
    jumps and ``E = 1 - p + p exp(m + s^2/2)``: ``mean = -V_t/2 + t (p m - log E)`` and
    ``Var = V_t + t (p (s^2 + m^2) - p^2 m^2)``. SEs: ``sd / sqrt(N)`` for the mean,
    ``sd((y - ybar)^2) / sqrt(N)`` for the variance (the mixture is not normal)."""
    s = spec_of("unit_cost.tariff")
    sigma, phi, p, m, sj = s["sigma"], s["phi"], s["jump_probability"], s["jump_mean"], s["jump_sigma"]
    log_e = np.log(1 - p + p * np.exp(m + sj ** 2 / 2))
    y = np.log(draws["unit_cost.tariff"])
    out = []
    for t in range(1, y.shape[1]):
        vt = var_g(sigma, phi, 0.0, t)
        mean = -vt / 2 + t * (p * m - log_e)
        var = vt + t * (p * (sj ** 2 + m ** 2) - (p * m) ** 2)
        yt = y[:, t]
        out.append(within(yt.mean(), mean, yt.std(ddof=1) / np.sqrt(N), f"mean log F_{t}"))
        dev2 = (yt - yt.mean()) ** 2
        out.append(within(yt.var(ddof=1), var, dev2.std(ddof=1) / np.sqrt(N), f"Var log F_{t}"))
    assert_all(out)


# --------------------------------------------------------------------------- correlation
def innovations(model, draws, name):
    sigma, phi, _ = ar(name)
    x = deviations(model, draws, name)
    return ((x[:, 1:] - phi * x[:, :-1]) / sigma).ravel()


def test_correlated_innovations_recover_the_matrix(model, draws):
    """Innovations ``(x_t - phi x_{t-1}) / sigma`` of the correlated drivers (t = 2..5: 4 N iid
    vectors): every sample correlation within ``4 (1 - rho^2) / sqrt(4 N)`` of the configured
    rho (the normal-theory SE of a correlation coefficient), and uncorrelated with a driver
    outside the matrix (``non_cbg.trend``, rho = 0)."""
    e = np.stack([innovations(model, draws, d) for d in CORR + ["non_cbg.trend"]])
    r = np.corrcoef(e)
    rho = np.zeros((5, 5))
    rho[:4, :4], rho[4, 4] = RHO, 1.0
    n = e.shape[1]
    assert_all(within(r[i, j], rho[i, j], (1 - rho[i, j] ** 2) / np.sqrt(n), f"rho {i},{j}")
               for i in range(5) for j in range(i))


def test_correlated_deviations_are_jointly_stationary(model, draws):
    """The deviations of two correlated AR(1)s have the stationary cross-correlation
    ``rho sqrt((1 - phi_i^2)(1 - phi_j^2)) / (1 - phi_i phi_j)`` in every year t = 1..5, the
    first included (a joint stationary start), within ``4 (1 - r^2) / sqrt(N)``."""
    x = {d: deviations(model, draws, d) for d in CORR}
    out = []
    for i, a in enumerate(CORR):
        for j, b in enumerate(CORR[:i]):
            pa, pb = ar(a)[1], ar(b)[1]
            r = RHO[i][j] * np.sqrt((1 - pa ** 2) * (1 - pb ** 2)) / (1 - pa * pb)
            for t in range(5):
                est = np.corrcoef(x[a][:, t], x[b][:, t])[0, 1]
                out.append(within(est, r, (1 - r * r) / np.sqrt(N), f"{a} x {b} t={t + 1}"))
    assert_all(out)


# --------------------------------------------------------------------------- shock
def test_shock_frequency_size_and_duration(draws):
    """Episodes start each year t >= 1 with probability p and last d = 3 years
    (``log F_t = h_t + h_{t-1} + h_{t-2}``). The starts ``h`` are recovered by the recursion
    ``h_t = log F_t - h_{t-1} - h_{t-2}``; with the right duration they are sparse.

    * start frequency per year = p, SE ``sqrt(p (1 - p) / N)`` (binomial);
    * log multiplier of the starts: mean m (SE ``s / sqrt(n)``), sd s (SE ``s / sqrt(2 (n-1))``);
    * duration: ``P(F_t != 1) = 1 - (1 - p)^min(t, d)`` (binomial SE) - a direct check, as is
    * ``E[F_t] = (1 - p + p exp(m + s^2/2))^min(t, d)`` (SE ``sd(F_t) / sqrt(N)``).
    """
    s = spec_of("shock")
    p, dur = s["probability"], s["duration"]
    m, sd = s["log_multiplier"]["mean"], s["log_multiplier"]["sigma"]
    y = np.log(draws["shock"])
    assert np.all(y[:, 0] == 0.0)
    h = np.zeros_like(y)
    for t in range(1, y.shape[1]):
        h[:, t] = y[:, t] - h[:, max(t - dur + 1, 0):t].sum(axis=1)
    start = np.abs(h) > 1e-9
    out = []
    for t in range(1, y.shape[1]):
        out.append(within(start[:, t].mean(), p, np.sqrt(p * (1 - p) / N), f"start freq t={t}"))
        q = 1 - (1 - p) ** min(t, dur)
        out.append(within(np.mean(y[:, t] != 0.0), q, np.sqrt(q * (1 - q) / N), f"P(F_{t} != 1)"))
        ef = (1 - p + p * np.exp(m + sd ** 2 / 2)) ** min(t, dur)
        f = draws["shock"][:, t]
        out.append(within(f.mean(), ef, f.std(ddof=1) / np.sqrt(N), f"E F_{t}"))
    size = h[start]
    out.append(within(size.mean(), m, sd / np.sqrt(size.size), "log multiplier mean"))
    out.append(within(size.std(ddof=1), sd, sd / np.sqrt(2 * (size.size - 1)), "log multiplier sd"))
    assert_all(out)
    assert np.all(np.abs(h[~start]) < 1e-12)  # no residue: the recursion's duration is right


# --------------------------------------------------------------------------- keyed streams
def test_adding_or_removing_a_driver_changes_no_other_path(model, draws):
    """Drop four blocks (unit cost, non-CBG, shock, investment yield): every remaining
    driver's path is bit-identical; the dropped ones are exactly 1."""
    dropped = ("unit_cost", "non_cbg", "shock", "investment_yield")
    m = model_for({k: v for k, v in SPEC.items() if k not in dropped})
    d = draw(m, np.arange(2000))
    kept = [a for a in ACTIVE if a.split(".")[0] not in dropped]
    assert set(m.active) == set(kept)
    for name in m.drivers:
        if name in kept:
            assert np.array_equal(d[name], draws[name][:2000]), name
        else:
            assert np.all(d[name] == 1.0), name
    assert np.array_equal(d.collection, draws.collection[:2000])


def test_a_stress_outside_the_uncertainty_block_keeps_the_paths(draws):
    """Common random numbers: a scenario that changes trends, tariffs and the cap but not the
    ``uncertainty:`` block draws the same factor paths, bit for bit."""
    m = model_for(SPEC, ["utilization.inpatient.trend.2016=0.2", "case_mix.tariff_index.2016=0.3",
                         "policy.annual_benefit_cap=20000000"])
    d = draw(m, np.arange(1000))
    assert np.array_equal(d.factor, draws.factor[:1000])


@pytest.mark.parametrize("sims", [np.arange(5, 10), np.arange(0, 10), np.array([9, 3, 7]),
                                  np.array([42]), np.arange(3000, 4100)],
                         ids=["5..9", "0..9", "shuffled", "one", "big"])
def test_draws_do_not_depend_on_the_block(model, draws, sims):
    """Simulation s draws the same bits alone, in any block, in any order (correlation
    included)."""
    d = draw(model, sims)
    assert np.array_equal(d.factor, draws.factor[sims])
    assert np.array_equal(d.collection, draws.collection[sims])


def changed(model, base, d, rows=slice(None)) -> set[str]:
    """Drivers whose paths in ``d`` differ from ``base``'s ``rows``."""
    return {n for n in model.drivers if not np.array_equal(base[n][rows], d[n])}


@pytest.mark.parametrize("name", ["utilization.inpatient.level", "utilization.inpatient.trend",
                                  "unit_cost.tariff", "collection.PBPU", "membership.PBPU",
                                  "shock", "investment_yield"])
def test_rekeying_an_uncorrelated_driver_changes_only_it(model, draws, name):
    """``streams={driver: ids}``: that driver draws exactly the numbers of simulations ``ids``;
    every other driver keeps its own."""
    sims, other = np.arange(500), np.arange(500) + 7000
    d = draw(model, sims, streams={name: other})
    assert changed(model, draws, d, sims) == {name}
    assert np.array_equal(d[name], draw(model, other)[name])


@pytest.mark.parametrize("j", range(len(CORR)), ids=CORR)
def test_rekeying_a_correlated_driver_moves_the_drivers_it_feeds(model, j):
    """Through the lower-triangular Cholesky factors (innovations ``L z``, start ``L_0 z_0``),
    re-keying the j-th listed driver's normals changes it and every later-listed driver with a
    non-zero entry in column j, never an earlier-listed one. For ``RHO``: the first feeds all
    four, ``wage`` feeds ``membership.PPU`` and ``collection.BP``, ... the last only itself."""
    sims = np.arange(500)
    base = draw(model, sims)
    d = draw(model, sims, streams={CORR[j]: sims + 7000})
    col = (model.corr_factor[:, j] != 0) | (model.corr_start_factor[:, j] != 0)
    want = {CORR[i] for i in range(len(CORR)) if i >= j and col[i]}
    assert want == set(CORR[j:])  # every entry below the diagonal of this RHO's factor is non-zero
    assert changed(model, base, d) == want


def test_a_semi_definite_matrix_gives_identical_paths():
    """rho = 1 between two drivers with the same AR(1): the symmetric square root makes their
    innovations equal, so the paths agree (to rounding); re-keying either moves both (the
    square root is full, not triangular)."""
    spec = {"wage": {"sigma": 0.05, "phi": 0.5}, "non_cbg": {"trend": {"sigma": 0.05, "phi": 0.5}},
            "correlation": {"drivers": ["wage", "non_cbg.trend"], "matrix": [[1, 1], [1, 1]]}}
    m = model_for(spec)
    sims = np.arange(1000)
    d = draw(m, sims)
    np.testing.assert_allclose(d["wage"], d["non_cbg.trend"], rtol=1e-12)
    assert d["wage"][:, 1:].std() > 0.01
    assert changed(m, d, draw(m, sims, streams={"wage": sims + 1})) == {"wage", "non_cbg.trend"}
