"""Uncertain assumptions: one draw of every driver's path per simulation, from keyed streams.

Each driver of :func:`jkn_risk.schema_uncertainty.driver_names` is a mean-one factor path
``F[sim, year]`` that multiplies the deterministic assumption where it applies
(``docs/methodology.md`` section 4 has the equations; ``t`` counts years after the base year):

*level* (``utilization.<care>.level``, ``unit_cost.<care>.level``, ``non_cbg.level``)
    ``F_t = exp(s Z - s^2 / 2)`` for every year: the base year's level is itself an estimate.
*AR(1) trend* (``utilization.<care>.trend``, ``non_cbg.trend``, ``wage``, ``membership.<seg>``,
``investment_yield``)
    deviations of yearly log growth ``x_t = phi x_{t-1} + sigma e_t`` from a stationary start,
    plus a long-run mean ``mu ~ N(0, long_run_sigma^2)`` drawn once;
    ``G_t = sum_{u=1..t} (mu + x_u)`` and ``F_t = exp(G_t - Var(G_t) / 2)``.
*tariff* (``unit_cost.tariff``)
    an AR(1) trend times revision jumps: each year with probability ``p`` a jump of log size
    ``N(m, s^2)``; divided by its expectation ``(1 - p + p exp(m + s^2 / 2))^t``.
*collection* (``collection.<seg>``)
    on the logit scale, ``logit c_t = logit c*_t + a_t + mu + x_t`` (``t >= 1``), with the shift
    ``a_t`` solved by Gauss-Hermite quadrature so that ``E[c_t] = c*_t``; the factor is
    ``c_t / c*_t``, and rates stay inside (0, 1).
*shock*
    each year ``t >= 1`` an episode starts with probability ``p`` and multiplies utilisation by
    ``exp(N(m, s^2))`` for ``duration`` years (episodes multiply). Not mean-preserving.

Streams: every normal or uniform comes from the stream keyed by ``(TAG_ASSUMPTIONS, seed,
stream simulation, driver key, word)`` with the driver key a 64-bit hash of its name and the word
``0`` (level), ``1`` (long-run mean) or a calendar year (the base year: the AR start). Adding or
removing a driver never moves another's numbers, and a scenario that leaves the uncertainty
block alone sees the same paths (common random numbers). Correlated drivers: their yearly
innovations are ``L z`` with ``L`` the Cholesky factor of the configured matrix ``P`` (a
symmetric square root when it is only semi-definite), ``z`` the drivers' own standard normals;
their stationary start is joint, ``x_0 = D L_0 z_0`` with ``D = diag(sigma / sqrt(1 - phi^2))``
and ``L_0`` the factor of the stationary correlation of the deviations,
``P_ij sqrt((1 - phi_i^2) (1 - phi_j^2)) / (1 - phi_i phi_j)``, so that the cross-covariance of
two correlated drivers, ``P_ij sigma_i sigma_j / (1 - phi_i phi_j)``, is the same in every year.

For attribution (:mod:`jkn_risk.report.sensitivity`), each driver may take its streams from
another simulation index than the one it is recorded under (``streams``).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr, ndtri

from jkn_risk.parameters import Parameters, lognormal_capped_mean
from jkn_risk.rng import TAG_ASSUMPTIONS, open_uniforms
from jkn_risk.schema_uncertainty import AR1, Uncertainty, driver_names

__all__ = ["AssumptionModel", "Draws", "DrawnParameters", "build_assumption_model", "draw",
           "drawn_parameters", "driver_key", "ar1_log_variance"]

_LEVEL, _LONG_RUN = 0, 1
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(64)  # nodes for E[f(Z)], Z ~ N(0, 1)
_GH_W = _GH_W / _GH_W.sum()
# E[f(L)], L standard logistic: the trapezoid rule on [-40, 40] (h = 0.05; tail mass 4e-18)
_LOGIS_X = np.linspace(-40.0, 40.0, 1601)
_LOGIS_W = expit(_LOGIS_X) * expit(-_LOGIS_X)
_LOGIS_W = _LOGIS_W / _LOGIS_W.sum()
#: Largest positive float64 below one: drawn collection rates stay strictly inside (0, 1).
_BELOW_ONE = float(np.nextafter(1.0, 0.0))


@functools.lru_cache(maxsize=None)
def driver_key(name: str) -> int:
    """A stable 64-bit key of a driver, from its name (int64); memoised: every block asks."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, key=b"jkn_risk driver").digest()
    return int(np.frombuffer(digest, dtype="<i8")[0])


def ar1_log_variance(sigma: float, phi: float, long_run_sigma: float, t: np.ndarray) -> np.ndarray:
    """``Var(G_t)`` of the cumulative deviation ``G_t = sum_{u<=t} (mu + x_u)`` of a stationary
    AR(1) with a long-run mean, for ``t = 0, 1, ...`` (ndarray(float64, t.shape))."""
    t = np.asarray(t, dtype=float)
    v = sigma * sigma / (1.0 - phi * phi)
    out = np.zeros_like(t)
    for i, n in np.ndenumerate(t):
        k = np.arange(1, int(n))
        out[i] = v * (n + 2.0 * np.sum((n - k) * phi ** k)) if n > 0 else 0.0
    return out + t * t * long_run_sigma ** 2


@dataclass(frozen=True, eq=False)
class AssumptionModel:
    """Everything :func:`draw` needs, built once per run (plain arrays and floats)."""

    seed: int
    years: np.ndarray                  # (Y,) calendar years, the base year first
    drivers: tuple[str, ...]           # every driver, in the store's order
    spec: Uncertainty                  # the validated block (frozen)
    corr_drivers: tuple[str, ...]      # drivers whose yearly innovations are correlated
    corr_factor: np.ndarray            # (k, k) L with L L' = the correlation matrix
    collection_det: np.ndarray         # (Y, S) deterministic collection rates
    collection_shift: np.ndarray       # (Y, S) logit shifts a_t (mean-preserving)
    segments: tuple[str, ...]
    corr_start_factor: np.ndarray = field(default_factory=lambda: np.eye(0))  # (k, k) L_0
    wage_base: np.ndarray | None = None  # (1, Y, S) E[min(W, cap)] [IDR], None: no wage table

    @property
    def active(self) -> tuple[str, ...]:
        """Drivers with any randomness (the others are 1 in every simulation)."""
        return tuple(d for d in self.drivers if _spec_of(self.spec, d) is not None
                     and _is_active(_spec_of(self.spec, d)))


def _spec_of(u: Uncertainty, name: str):
    parts = name.split(".")
    if parts[0] in ("collection", "membership"):
        return getattr(u, parts[0]).get(parts[1])
    if name == "utilization.inpatient.level":
        return ("level", u.utilization.inpatient.level)
    if name == "utilization.outpatient.level":
        return ("level", u.utilization.outpatient.level)
    if name == "unit_cost.inpatient.level":
        return ("level", u.unit_cost.inpatient.level)
    if name == "unit_cost.outpatient.level":
        return ("level", u.unit_cost.outpatient.level)
    if name == "non_cbg.level":
        return ("level", u.non_cbg.level)
    return {"utilization.inpatient.trend": u.utilization.inpatient.trend,
            "utilization.outpatient.trend": u.utilization.outpatient.trend,
            "unit_cost.tariff": u.unit_cost.tariff, "non_cbg.trend": u.non_cbg.trend,
            "wage": u.wage, "shock": u.shock, "investment_yield": u.investment_yield}[name]


def _is_active(spec) -> bool:
    if isinstance(spec, tuple):
        return spec[1] > 0
    return bool(spec.active)


def _correlation_factor(m: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(m)
    except np.linalg.LinAlgError:  # semi-definite: the symmetric square root
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _logit_normal_mean(m: float, sd: float) -> float:
    """``E[expit(m + sd Z)]``, ``Z ~ N(0, 1)``, to about 1e-14 for any ``sd``.

    Gauss-Hermite in ``Z`` while ``expit(m + sd z)`` is smooth on the scale of ``Z``
    (``sd <= 1.5``); beyond, the integrand is a near step and the rule loses accuracy
    (1e-7 at ``sd = 3``, 3e-3 at ``sd = 10``), so the mean is taken as
    ``P(L < m + sd Z) = E[Phi((m - L) / sd)]`` over a standard logistic ``L``, smooth on the
    scale of ``L`` once ``sd >= 1``.
    """
    if sd <= 1.5:
        return float(_GH_W @ expit(m + sd * _GH_X))
    return float(_LOGIS_W @ ndtr((m - _LOGIS_X) / sd))


def _collection_shift(c: float, var: float) -> float:
    """``a`` with ``E[expit(logit(c) + a + sqrt(var) Z)] = c``."""
    if var == 0.0 or not 0.0 < c < 1.0:
        return 0.0
    base, sd = logit(c), np.sqrt(var)
    f = lambda a: _logit_normal_mean(base + a, sd) - c  # noqa: E731
    lo, hi = -20.0, 20.0  # f increases from -c to 1 - c: widen until it changes sign
    for _ in range(60):
        if f(lo) <= 0.0:
            break
        lo *= 2.0
    for _ in range(60):
        if f(hi) >= 0.0:
            break
        hi *= 2.0
    return brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)


def build_assumption_model(params: Parameters, spec: Uncertainty | None) -> AssumptionModel:
    """The drivers of ``params``' config (every driver certain when ``spec`` is None)."""
    spec = spec or Uncertainty()
    years = np.asarray(params.years, dtype=np.int64)
    Y, S = len(params.years), len(params.segments)
    shift = np.zeros((Y, S))
    for j, seg in enumerate(params.segments):
        ar = spec.collection.get(seg)
        if ar is None or not ar.active:
            continue
        var = ar.long_run_sigma ** 2 + ar.sigma ** 2 / (1 - ar.phi ** 2)
        for t in range(1, Y):
            shift[t, j] = _collection_shift(float(params.collection[t, j]), var)
    corr = spec.correlation
    names = tuple(corr.drivers) if corr else ()
    factor = start = np.eye(0)
    if corr:
        m = np.array(corr.matrix, dtype=float)
        factor = _correlation_factor(m)
        phi = np.array([getattr(_spec_of(spec, d), "phi", 0.0) for d in names])
        q = np.sqrt(1.0 - phi * phi)
        start = _correlation_factor(m * np.outer(q, q) / (1.0 - np.outer(phi, phi)))
    wage_base = None
    if params.wage_mean is not None and np.any(params.wage_mean > 0):
        wage_base = lognormal_capped_mean(params.wage_mean[None], params.wage_cv[None, None, :],
                                          params.wage_cap[None])
    return AssumptionModel(seed=int(params.seed), years=years,
                           drivers=tuple(driver_names(params.segments)), spec=spec,
                           corr_drivers=names, corr_factor=factor,
                           collection_det=np.array(params.collection, dtype=float),
                           collection_shift=shift, segments=tuple(params.segments),
                           corr_start_factor=start, wage_base=wage_base)


# --------------------------------------------------------------------------- draws
@dataclass(frozen=True)
class Draws:
    """One block's factor paths: ``factor`` ndarray(float64, (n_sim, Y, n_driver)) [1], in
    ``drivers`` order, and ``collection`` (n_sim, Y, S) the drawn collection rates [1]."""

    drivers: tuple[str, ...]
    factor: np.ndarray
    collection: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return self.factor[:, :, self.drivers.index(name)]


def _normals(model: AssumptionModel, name: str, ids: np.ndarray, words, n: int = 1) -> np.ndarray:
    u = open_uniforms(TAG_ASSUMPTIONS, model.seed, ids, driver_key(name), words, n)
    return ndtri(u)  # (n_sim, n_word, n)


def _innovations(model: AssumptionModel, name: str, ids: np.ndarray,
                 cache: dict[str, np.ndarray]) -> np.ndarray:
    """Standard normal innovations (n_sim, Y) of an AR driver: column 0 drives the stationary
    start, column t >= 1 year t; correlated with the other listed drivers when configured
    (column 0 with the stationary correlation of the deviations, the others with the matrix)."""
    if name not in model.corr_drivers:
        return _normals(model, name, ids[name], model.years)[:, :, 0]
    if "__corr__" not in cache:
        z = np.stack([_normals(model, d, ids[d], model.years)[:, :, 0]
                      for d in model.corr_drivers], axis=-1)   # (n, Y, k)
        e = z @ model.corr_factor.T
        e[:, :1] = z[:, :1] @ model.corr_start_factor.T
        cache["__corr__"] = e
    return cache["__corr__"][:, :, model.corr_drivers.index(name)]


def _ar_path(model, name, ar: AR1, ids, cache, cumulative=True) -> np.ndarray:
    """Log deviations (n_sim, Y): cumulative ``G_t`` (growth drivers) or ``mu + x_t``
    (level drivers such as collection); zero in the base year."""
    n, Y = ids[name].shape[0], model.years.size
    out = np.zeros((n, Y))
    if not ar.active:
        return out
    e = _innovations(model, name, ids, cache)
    mu = ar.long_run_sigma * _normals(model, name, ids[name], [_LONG_RUN])[:, 0, 0]
    x = ar.sigma / np.sqrt(1 - ar.phi ** 2) * e[:, 0]
    total = np.zeros(n)
    for t in range(1, Y):
        x = ar.phi * x + ar.sigma * e[:, t]
        total = total + mu + x
        out[:, t] = total if cumulative else mu + x
    return out


def _mean_one(g: np.ndarray, ar: AR1) -> np.ndarray:
    var = ar1_log_variance(ar.sigma, ar.phi, ar.long_run_sigma, np.arange(g.shape[1]))
    return np.exp(g - var / 2)


def draw(model: AssumptionModel, sims, streams: dict[str, np.ndarray] | None = None) -> Draws:
    """Draw every driver's factor path for ``sims``.

    Parameters
    ----------
    model : AssumptionModel
    sims : array_like of int, shape (n_sim,)
    streams : dict, optional
        ``{driver: stream simulation ids (n_sim,)}``: the driver draws the numbers of those
        simulations instead (pick-freeze attribution); the others use ``sims``.

    Returns
    -------
    Draws
        Factors are exactly 1 for drivers without randomness.
    """
    sims = np.asarray(sims, dtype=np.int64)
    n, Y = sims.size, model.years.size
    ids = {d: np.asarray((streams or {}).get(d, sims), dtype=np.int64) for d in model.drivers}
    spec, cache = model.spec, {}
    factor = np.ones((n, Y, len(model.drivers)))
    collection = np.broadcast_to(model.collection_det, (n, Y, len(model.segments))).copy()
    for k, name in enumerate(model.drivers):
        s = _spec_of(spec, name)
        if s is None or not _is_active(s):
            continue
        if isinstance(s, tuple):  # a level error, drawn once
            z = _normals(model, name, ids[name], [_LEVEL])[:, 0, 0]
            factor[:, :, k] = np.exp(s[1] * z - s[1] ** 2 / 2)[:, None]
        elif name == "shock":
            factor[:, :, k] = _shock_path(model, ids[name])
        elif name.startswith("collection."):
            j = model.segments.index(name.split(".", 1)[1])
            dev = _ar_path(model, name, s, ids, cache, cumulative=False)
            c0 = model.collection_det[:, j]
            inside = (c0 > 0) & (c0 < 1)
            with np.errstate(divide="ignore"):
                drawn = expit(logit(c0) + model.collection_shift[:, j] + dev)
            # expit rounds to exactly 1 above 36.7 (and to 0 below -745): keep rates inside
            drawn = np.clip(drawn, np.finfo(float).tiny, _BELOW_ONE)
            drawn[:, 0] = c0[0]
            collection[:, :, j] = np.where(inside, drawn, c0)
            factor[:, :, k] = np.where(inside, collection[:, :, j] / np.where(inside, c0, 1), 1)
        else:
            g = _ar_path(model, name, s, ids, cache)
            f = _mean_one(g, s)
            if name == "unit_cost.tariff" and s.jump_probability > 0:
                f = f * _tariff_jumps(model, name, s, ids[name])
            factor[:, :, k] = f
    return Draws(drivers=model.drivers, factor=factor, collection=collection)


def _tariff_jumps(model, name, s, ids) -> np.ndarray:
    """``exp(sum of jumps) / E[...]`` per year (n_sim, Y); draws 2 and 3 of the yearly stream."""
    u = open_uniforms(TAG_ASSUMPTIONS, model.seed, ids, driver_key(name), model.years, 3)
    jump = np.where(u[:, :, 1] < s.jump_probability, s.jump_mean + s.jump_sigma * ndtri(u[:, :, 2]),
                    0.0)
    jump[:, 0] = 0.0
    log_e = np.log1p(s.jump_probability * np.expm1(s.jump_mean + s.jump_sigma ** 2 / 2))
    t = np.arange(model.years.size)
    return np.exp(np.cumsum(jump, axis=1) - t * log_e)


def _shock_path(model, ids) -> np.ndarray:
    """Multiplier on utilisation (n_sim, Y): episodes starting in years t >= 1."""
    s = model.spec.shock
    u = open_uniforms(TAG_ASSUMPTIONS, model.seed, ids, driver_key("shock"), model.years, 2)
    start = u[:, :, 0] < s.probability
    start[:, 0] = False
    size = s.log_multiplier.mean + s.log_multiplier.sigma * ndtri(u[:, :, 1])
    log_f = np.zeros(start.shape)
    for t in range(1, model.years.size):
        hit = np.where(start[:, t], size[:, t], 0.0)
        log_f[:, t: t + s.duration] += hit[:, None]
    return np.exp(log_f)


# --------------------------------------------------------------------------- application
@dataclass(frozen=True)
class DrawnParameters:
    """The assumptions of a block of simulations after the draws (leading axis ``sim``).

    members : (n, Y, R, S) [member-years]
    rate : (n, Y, R, S, C) [events per member-year], before the IBNR completion factor
    cost_scale : (n, Y, R, S, C) [1] factor on every INA-CBG amount (before the cap)
    non_cbg_pmpm : (n, Y, R, S) [IDR per member-month]
    collected_pmpm : (n, Y, S) [IDR per member-month] contributions received
    yield_factor : (n, Y) [1] factor on the fund's investment yield
    collection : (n, Y, S) [1] drawn collection rates (``Draws.collection``)
    """

    members: np.ndarray
    rate: np.ndarray
    cost_scale: np.ndarray
    non_cbg_pmpm: np.ndarray
    collected_pmpm: np.ndarray
    yield_factor: np.ndarray
    collection: np.ndarray


def drawn_parameters(params: Parameters, model: AssumptionModel, d: Draws) -> DrawnParameters:
    """Apply the factor paths to the deterministic assumptions (all factors 1: the same bits)."""
    care = params.care
    util = np.stack([d[f"utilization.{c}.level"] * d[f"utilization.{c}.trend"] for c in care],
                    axis=-1)  # (n, Y, C)
    hit = np.array([c in model.spec.shock.care for c in care])
    util = util * np.where(hit, d["shock"][..., None], 1.0)
    cost = np.stack([d[f"unit_cost.{c}.level"] * d["unit_cost.tariff"] for c in care], axis=-1)
    membership = np.stack([d[f"membership.{s}"] for s in params.segments], axis=-1)  # (n, Y, S)
    members = params.members[None] * membership[:, :, None, :]
    rate = params.rate[None] * util[:, :, None, None, :]
    cost_scale = np.broadcast_to(cost[:, :, None, None, :], rate.shape)
    non_cbg = params.non_cbg_pmpm[None] * (d["non_cbg.level"] * d["non_cbg.trend"])[:, :, None, None]
    coll = d.collection
    contrib = params.contribution_pmpm[None] * _wage_factor(params, model.wage_base, d["wage"])
    unpaid3 = params.class3_pmpm[None] * (1.0 - coll)
    collected = contrib * coll + params.humanitarian_share[None, None, :] * unpaid3
    return DrawnParameters(members=members, rate=rate, cost_scale=cost_scale,
                           non_cbg_pmpm=non_cbg, collected_pmpm=collected,
                           yield_factor=d["investment_yield"], collection=coll)


def _wage_factor(params: Parameters, base: np.ndarray | None, wage: np.ndarray) -> np.ndarray:
    """Billed contributions of wage-rated segments scale as E[min(W F, cap)] / E[min(W, cap)]
    (n, Y, S); 1 elsewhere and wherever the wage factor is 1. ``base`` is the run's
    ``AssumptionModel.wage_base``."""
    if base is None or np.all(wage == 1.0):
        return np.ones((wage.shape[0],) + params.contribution_pmpm.shape)
    w = params.wage_mean[None]
    drawn = lognormal_capped_mean(w * wage[:, :, None], params.wage_cv[None, None, :],
                                  params.wage_cap[None])
    return np.where((w > 0) & (wage[:, :, None] != 1.0), drawn / np.where(base > 0, base, 1), 1.0)
