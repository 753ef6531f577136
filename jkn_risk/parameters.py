"""Config -> Parameters: plain numpy arrays per cell, in per-member-year units.

Below this module nothing knows about pydantic. A *cell* is (year, region, segment, care).
All relativities are rebased to the base year's experience mix (see ``CaseMix`` and
``CareUtilization`` in :mod:`jkn_risk.config`): the seed's regional rates and mean costs per
case are averages over the segments and classes actually seen in 2014, so segment and class
relativities redistribute them without changing the base year's totals.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import erf, exp, log, sqrt

import numpy as np
from scipy.special import ndtr

from jkn_risk.codes import FREQUENCY, resolve_methods
from jkn_risk.config import CARE_TYPES, Config, schedule_annual, trend_index
from jkn_risk.shocks import apply_shocks

__all__ = ["Parameters", "CaseMixArrays", "build_parameters", "lognormal_capped_mean"]


@dataclass(frozen=True)
class CaseMixArrays:
    """Outcomes of one (region, care): INA-CBG code x hospital class.

    probability : ndarray(float64, (k,)) -- sums to 1
    base_tariff : ndarray(float64, (k,)) [IDR per case] -- class III table tariff x rebased
        hospital-class relativity, before the yearly index and segment factors
    """

    probability: np.ndarray
    base_tariff: np.ndarray


@dataclass(frozen=True)
class Parameters:
    """Everything the simulation and the projection need, as arrays.

    Shapes use Y years, R regions, S segments, C care types (inpatient, outpatient).

    members : (Y, R, S) [member-years]
    rate : (Y, R, S, C) expected events per member-year, *before* the IBNR completion factor
    ibnr_factor : (C,) deterministic completion factor (chain-ladder or the configured number)
    ibnr_samples : per care, None or ndarray(float64, (n_boot,)) bootstrap completion factors
    case_mix : {(r, c): CaseMixArrays} by region and care index
    tariff_multiplier : (Y, R, S, C) yearly tariff index x care-class x segment cost factor
    non_cbg_pmpm : (Y, R, S) [IDR per member-month]
    contribution_pmpm : (Y, S) billed contribution [IDR per member-month]
    collection : (Y, S) share of billed contributions actually received
    class3_pmpm : (Y, S) billed class-III contribution per member (the part a humanitarian
        fund may pay for PBPU members who cannot) [IDR per member-month]
    humanitarian_share : (S,) share of unpaid class-III contributions paid by a humanitarian fund
    admin_share : (Y,) administration cost as a share of contributions received
    wage_mean, wage_cap : (Y, S) [IDR per month] mean and cap of the contributory wage of
        wage-rated segments (0 and inf elsewhere); wage_cv : (S,) its coefficient of variation
    cap_care : (C,) bool, whether the annual cap applies to the care type
    frequency : code of :mod:`jkn_risk.codes` (``FREQ_POISSON`` / ``FREQ_NEGBIN``)
    population : (Y, R) [persons] mid-year population, or None (no ``population:`` table);
        deterministic: the same in every simulation
    method : (C,) method code per care type (``METHOD_INDIVIDUAL`` / ``METHOD_COLLECTIVE``),
        resolved once from ``simulation.method`` and the cap by :func:`jkn_risk.codes.resolve_methods`
    """

    years: tuple[int, ...]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    care: tuple[str, ...]
    members: np.ndarray
    rate: np.ndarray
    ibnr_factor: np.ndarray
    ibnr_samples: tuple
    case_mix: dict
    tariff_multiplier: np.ndarray
    non_cbg_pmpm: np.ndarray
    contribution_pmpm: np.ndarray
    collection: np.ndarray
    class3_pmpm: np.ndarray
    humanitarian_share: np.ndarray
    admin_share: np.ndarray
    wage_mean: np.ndarray | None = None
    wage_cv: np.ndarray | None = None
    wage_cap: np.ndarray | None = None
    cost_noise_sigma: float = 0.0
    annual_cap: float | None = None
    cap_care: tuple[bool, ...] = (True, True)
    frequency: int = 0
    dispersion: float = 0.0
    method: tuple[int, ...] = (1, 1)
    compartments: str = "pooled"
    regional_government_share: float = 0.0
    seed: int = 0
    n_sims: int = 1000
    block_size: int | None = None
    name: str = "unnamed"
    config_yaml: str = ""
    uncertainty: object = None  # the config's validated ``uncertainty:`` block, or None
    fund: object = None  # the config's validated ``fund:`` block, or None
    population: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.rate.shape

    def tariffs(self) -> np.ndarray:
        """Per-cell integer tariffs, ndarray(int64, (Y, R, S, C, K)) [IDR], zero-padded to K."""
        k = max(a.probability.size for a in self.case_mix.values())
        Y, R, S, C = self.shape
        out = np.zeros((Y, R, S, C, k), dtype=np.int64)
        for (r, c), mix in self.case_mix.items():
            t = np.rint(self.tariff_multiplier[:, r, :, c, None] * mix.base_tariff[None, None, :])
            out[:, r, :, c, : mix.base_tariff.size] = t.astype(np.int64)
        return out

    def mean_cost_per_case(self) -> np.ndarray:
        """Expected cost per case, ndarray(float64, (Y, R, S, C)) [IDR], of the integer tariffs."""
        t = self.tariffs()
        out = np.empty(self.shape)
        for (r, c), mix in self.case_mix.items():
            k = mix.probability.size
            out[:, r, :, c] = t[:, r, :, c, :k] @ mix.probability
        return out

    @property
    def collected_pmpm(self) -> np.ndarray:
        """Contributions received, (Y, S) [IDR per member-month]: billed x collection plus the
        humanitarian fund's payment of unpaid class-III contributions."""
        unpaid3 = self.class3_pmpm * (1.0 - self.collection)
        return self.contribution_pmpm * self.collection + self.humanitarian_share[None, :] * unpaid3



# --------------------------------------------------------------------------- helpers
def _rebased(rel: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Relativities (..., S) divided by their weighted mean over S with weights (..., S)."""
    wsum = weight.sum(axis=-1, keepdims=True)
    mean = np.where(wsum > 0, (rel * weight).sum(axis=-1, keepdims=True) / np.where(wsum > 0, wsum, 1), 1.0)
    return rel / mean


def lognormal_capped_mean(mean, cv, cap):
    """E[min(W, cap)] for W lognormal with the given mean and coefficient of variation,
    elementwise on arrays (``cap = inf``: no cap; ``mean = 0``: 0)."""
    mean, cv, cap = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (mean, cv, cap)))
    s2 = np.log1p(cv * cv)
    s = np.sqrt(s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.log(mean) - s2 / 2
        z = (np.log(cap) - mu) / s
        lognormal = (np.exp(mu + s2 / 2) * ndtr(z - s) + np.where(np.isinf(cap), 0.0, cap)
                     * (1 - ndtr(z)))
    out = np.where(cv == 0, np.minimum(mean, cap), lognormal)
    return np.where(mean > 0, out, 0.0)


def _lognormal_capped_mean(mean: float, cv: float, cap: float | None) -> float:
    """E[min(W, cap)] for W lognormal with the given mean and coefficient of variation."""
    if cap is None or cap <= 0:
        return mean
    if cv == 0:
        return min(mean, cap)
    s2 = log(1 + cv * cv)
    s, mu = sqrt(s2), log(mean) - s2 / 2
    phi = lambda x: 0.5 * (1 + erf(x / sqrt(2)))  # noqa: E731
    z = (log(cap) - mu) / s
    return exp(mu + s2 / 2) * phi(z - s) + cap * (1 - phi(z))


def _contributions(cfg: Config):
    """Billed pmpm, collection rate, billed class-III pmpm (Y, S), humanitarian share (S,) and
    the wage distribution of wage-rated segments: mean wage (Y, S) [IDR per month, 0 for other
    segments], its coefficient of variation (S,) and cap (Y, S) [IDR per month, inf: none]."""
    years = cfg.years
    Y, S = len(years), len(cfg.segments)
    billed, coll, class3, hum = np.zeros((Y, S)), np.ones((Y, S)), np.zeros((Y, S)), np.zeros(S)
    wage_mean, wage_cv, wage_cap = np.zeros((Y, S)), np.zeros(S), np.full((Y, S), np.inf)
    for j, seg in enumerate(cfg.segments):
        rule = cfg.contributions[seg]
        coll[:, j] = schedule_annual(rule.collection, years)
        if rule.type == "fixed":
            billed[:, j] = schedule_annual(rule.pmpm, years)
        elif rule.type == "wage":
            rate = schedule_annual(rule.rate, years)
            wage = np.array(trend_index(rule.wage_growth, years, cfg.base_year)) * rule.wage_mean
            cap = schedule_annual(rule.wage_cap, years) if rule.wage_cap else [None] * Y
            billed[:, j] = [r * _lognormal_capped_mean(w, rule.wage_cv, c) / rule.members_per_worker
                            for r, w, c in zip(rate, wage, cap)]
            wage_mean[:, j], wage_cv[j] = wage, rule.wage_cv
            wage_cap[:, j] = [np.inf if c is None else c for c in cap]
        else:
            for cls, share in rule.class_shares.items():
                billed[:, j] += share * np.array(schedule_annual(rule.premium[cls], years))
            if "III" in rule.class_shares:
                class3[:, j] = rule.class_shares["III"] * np.array(schedule_annual(rule.premium["III"], years))
            if seg.upper().startswith("PBPU"):
                hum[j] = cfg.policy.humanitarian_fund_share
    return billed, coll, class3, hum, (wage_mean, wage_cv, wage_cap)


def _ibnr(cfg: Config, bootstrap: bool) -> tuple[np.ndarray, tuple]:
    factors, samples = [], []
    for care in CARE_TYPES:
        spec = getattr(cfg.utilization, care).ibnr
        if isinstance(spec, (int, float)):
            factors.append(float(spec))
            samples.append(None)
            continue
        from jkn_risk.reserving.completion import completion_factor, completion_factors

        if not bootstrap:  # the point factor only: no replicates to pay for
            factors.append(completion_factor(spec.triangle, origins=spec.origins,
                                             base_year=cfg.base_year))
            samples.append(None)
            continue
        point, boot = completion_factors(spec.triangle, n_boot=spec.n_boot, seed=cfg.simulation.seed,
                                         process=spec.process, hat_adj=spec.hat_adj,
                                         origins=spec.origins, base_year=cfg.base_year)
        factors.append(point)
        samples.append(np.asarray(boot, dtype=float))
    return np.array(factors), tuple(samples)


# --------------------------------------------------------------------------- builder
def build_parameters(cfg: Config, *, ibnr_bootstrap: bool = True) -> Parameters:
    """Turn a validated config into :class:`Parameters` (deterministic; no randomness).

    ``ibnr_bootstrap=False`` computes only the chain-ladder completion factors (what the
    deterministic projection needs), not the bootstrap replicates."""
    years, regions, segments = list(cfg.years), list(cfg.regions), list(cfg.segments)
    Y, R, S, C = len(years), len(regions), len(segments), len(CARE_TYPES)
    members = cfg.tables.members.copy()  # (Y, R, S)
    base_members = members[0]  # (R, S)

    rate = np.zeros((Y, R, S, C))
    for c, care in enumerate(CARE_TYPES):
        cu = getattr(cfg.utilization, care)
        trend = np.array(trend_index(cu.trend, years, cfg.base_year))
        rel = np.array([cu.segment_relativity.get(s, 1.0) for s in segments])
        rel_rebased = (_rebased(rel[None, :], base_members) if cfg.rebase_segment_relativities
                       else np.broadcast_to(rel[None, :], base_members.shape))  # (R, S)
        reported = np.array([cu.rate[r] for r in regions]) * 12.0 / 1000.0  # per member-year
        rate[:, :, :, c] = trend[:, None, None] * reported[None, :, None] * rel_rebased[None]

    cm = cfg.case_mix
    hosp = cm.hospital_class
    h_names = list(hosp.shares)
    h_share = np.array([hosp.shares[h] for h in h_names])
    h_rel = np.array([hosp.relativity[h] for h in h_names])
    h_rel = h_rel / (h_share @ h_rel)  # rebased to the experience mix
    case_mix = {}
    for r, region in enumerate(regions):
        for c, care in enumerate(CARE_TYPES):
            t = cfg.tables.case_mix[(region, care)]
            prob = (t.probability[:, None] * h_share[None, :]).ravel()
            base = (t.tariff[:, None] * h_rel[None, :]).ravel().astype(float)
            keep = prob > 0
            case_mix[(r, c)] = CaseMixArrays(prob[keep] / prob[keep].sum(), base[keep])

    # care-class factor (inpatient only) and segment cost relativities, rebased per region on
    # base-year events by segment
    cc = cm.care_class
    cls_factor = np.ones(S)
    for j, s in enumerate(segments):
        shares = cc.shares.get(s, {"III": 1.0})
        cls_factor[j] = sum(v * cc.relativity[k] for k, v in shares.items())
    cls_policy = np.full(S, cc.relativity.get("III", 1.0)) if cfg.policy.standard_class else cls_factor
    cost_rel = np.array([cm.segment_cost_relativity.get(s, 1.0) for s in segments])
    tariff_idx = np.array(trend_index(cm.tariff_index, years, cfg.base_year)) * cm.tariff_level
    mult = np.zeros((Y, R, S, C))
    for c in range(C):
        events0 = base_members * rate[0, :, :, c]  # (R, S) base-year events
        f_exp = cls_factor if CARE_TYPES[c] == "inpatient" else np.ones(S)
        f_now = cls_policy if CARE_TYPES[c] == "inpatient" else np.ones(S)
        # class relativities are always rebased; segment cost relativities only if asked
        seg_rel = cost_rel if cfg.rebase_segment_relativities else np.ones(S)
        norm = _rebased(f_exp[None, :] * seg_rel[None, :], events0) / (f_exp * seg_rel)[None, :]
        mult[:, :, :, c] = tariff_idx[:, None, None] * (norm * f_now[None, :] * cost_rel[None, :])[None]

    nc = cfg.non_cbg
    nc_index = tariff_idx / cm.tariff_level if nc.index == "tariff_index" else np.ones(Y)
    non_cbg = np.zeros((Y, S))
    for item in (nc.capitation, nc.non_capitation, nc.other):
        for j, s in enumerate(segments):
            non_cbg[:, j] += np.array(schedule_annual(item[s], years))
    non_cbg = np.broadcast_to((non_cbg * nc_index[:, None])[:, None, :], (Y, R, S)).copy()

    billed, coll, class3, hum, (wage_mean, wage_cv, wage_cap) = _contributions(cfg)
    admin = np.array(schedule_annual(cfg.administration.share_of_contributions, years))
    ibnr, samples = _ibnr(cfg, ibnr_bootstrap)
    cap_care = tuple(c in cfg.policy.cap_applies_to and cfg.policy.annual_benefit_cap is not None
                     for c in CARE_TYPES)
    sim = cfg.simulation
    params = Parameters(
        years=tuple(years), regions=tuple(regions), segments=tuple(segments), care=CARE_TYPES,
        members=members, rate=rate, ibnr_factor=ibnr, ibnr_samples=samples, case_mix=case_mix,
        tariff_multiplier=mult, non_cbg_pmpm=non_cbg, contribution_pmpm=billed,
        collection=coll, class3_pmpm=class3, humanitarian_share=hum, admin_share=admin,
        cost_noise_sigma=cm.cost_noise_sigma, wage_mean=wage_mean, wage_cv=wage_cv,
        wage_cap=wage_cap,
        annual_cap=cfg.policy.annual_benefit_cap,
        cap_care=cap_care, frequency=FREQUENCY[sim.frequency], dispersion=sim.dispersion,
        method=resolve_methods(sim.method, cap_care), compartments=cfg.policy.compartments,
        regional_government_share=cfg.policy.regional_government_deficit_share, seed=sim.seed,
        n_sims=sim.n_sims, block_size=sim.block_size, name=cfg.name, config_yaml=cfg.source,
        uncertainty=cfg.uncertainty, fund=cfg.fund, population=cfg.tables.population,
    )
    return apply_shocks(params, cfg.shocks)
