"""The deterministic projection: expected values, no randomness (the seed paper's method).

Expected events = members x events per member-year x IBNR completion factor; CBG cost =
events x expected cost per case; non-CBG cost = members x 12 x pmpm; contributions =
members x 12 x contribution received pmpm; administration = share x contributions.

Two results, named apart everywhere: the *contribution surplus* (``contribution_surplus``) =
contributions - medical cost, the seed paper's "Saldo" (its Table 6 does not deduct
administration); the *fund result* (``fund_result``) also deducts administration: the fund's
(DJS Kesehatan) own result, the quantity the Monte Carlo run and its report measure.

With a ``population:`` table the projection adds active members (members x collection rate)
and active coverage per region and nationally (:mod:`jkn_risk.coverage`).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from jkn_risk.config import Config, load_config
from jkn_risk.coverage import active_members, coverage, national_coverage
from jkn_risk.parameters import Parameters, build_parameters

__all__ = ["project", "project_parameters", "table6", "expected_costs"]


def expected_costs(params: Parameters, ibnr_factor: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Expected values per cell given the IBNR factor(s).

    Parameters
    ----------
    params : Parameters
    ibnr_factor : ndarray(float64, (C,) or (n_sim, C)), optional
        Completion factor per care type; defaults to ``params.ibnr_factor``.

    Returns
    -------
    dict of arrays [IDR or events], leading ``n_sim`` axis when ``ibnr_factor`` is 2-D:
    ``events`` and ``cbg_cost`` (..., Y, R, S, C); ``non_cbg_cost``, ``income``,
    ``admin_cost`` (Y, R, S) (no sim axis: they do not depend on the IBNR factor).
    """
    f = params.ibnr_factor if ibnr_factor is None else np.asarray(ibnr_factor, dtype=float)
    f = f[..., None, None, None, :]  # broadcast over (Y, R, S)
    m = params.members
    events = m[..., None] * params.rate * f
    cbg = events * params.mean_cost_per_case()
    non_cbg = m * 12.0 * params.non_cbg_pmpm
    income = m * 12.0 * params.collected_pmpm[:, None, :]
    admin = income * params.admin_share[:, None, None]
    return {"events": events, "cbg_cost": cbg, "non_cbg_cost": non_cbg, "income": income,
            "admin_cost": admin}


def project_parameters(params: Parameters) -> xr.Dataset:
    """Expected-value projection of :class:`Parameters` as an xarray Dataset."""
    e = expected_costs(params)
    dims3, dims4 = ("year", "region", "segment"), ("year", "region", "segment", "care")
    medical = e["cbg_cost"].sum(axis=-1) + e["non_cbg_cost"]

    def var(data, dims, units, long_name):
        return xr.Variable(dims, data, {"units": units, "long_name": long_name})

    ds = xr.Dataset(
        {
            "members": var(params.members, dims3, "member-years", "average members"),
            "events": var(e["events"], dims4, "1", "expected INA-CBG cases (IBNR-completed)"),
            "cbg_cost": var(e["cbg_cost"], dims4, "IDR", "expected INA-CBG claims"),
            "non_cbg_cost": var(e["non_cbg_cost"], dims3, "IDR",
                                "capitation, non-capitation and other non-CBG costs"),
            "medical_cost": var(medical, dims3, "IDR", "expected medical cost (CBG + non-CBG)"),
            "income": var(e["income"], dims3, "IDR", "contributions received"),
            "admin_cost": var(e["admin_cost"], dims3, "IDR", "administration cost"),
            "contribution_surplus": var(e["income"] - medical, dims3, "IDR",
                                        "contribution surplus: contributions minus medical cost "
                                        "(the paper's saldo, before administration)"),
            "fund_result": var(e["income"] - medical - e["admin_cost"], dims3, "IDR",
                               "fund result: contributions minus medical and administration cost"),
            "ibnr_factor": var(params.ibnr_factor, ("care",), "1", "IBNR completion factor"),
        },
        coords={"year": list(params.years), "region": np.array(params.regions, dtype=object),
                "segment": np.array(params.segments, dtype=object),
                "care": np.array(params.care, dtype=object)},
        attrs={"title": "jkn_risk deterministic projection", "config_name": params.name},
    )
    if params.population is not None:
        active = active_members(params.members, params.collection)
        pop = params.population
        ds["population"] = var(pop, dims3[:2], "persons", "mid-year population")
        ds["active_members"] = var(active, dims3, "member-years",
                                   "active members: members x share with the contribution paid")
        ds["active_coverage"] = var(coverage(active, pop), dims3[:2], "1",
                                    "active coverage: active members / population")
        ds["active_coverage_national"] = var(national_coverage(active, pop), ("year",), "1",
                                             "national active coverage")
    return ds


def project(config: Config) -> xr.Dataset:
    """The deterministic projection of a validated config (dims year, region, segment, care).

    Uses the deterministic chain-ladder completion factor where the config asks for a
    bootstrap (the replicates are not computed).
    """
    return project_parameters(build_parameters(config, ibnr_bootstrap=False))


def table6(ds: xr.Dataset | Config | str) -> list[dict]:
    """A Table-6-style summary per year, national totals.

    ``ds``: the projection (:func:`project`), or a config (a :class:`Config` or a path), which
    is projected first.

    Returns
    -------
    list of dict with keys ``year``, ``members`` (average members), ``income_pmpm`` and
    ``cost_pmpm`` [IDR per member per month], ``claim_ratio`` (medical cost / contributions,
    a fraction), ``contribution_surplus_pmpm`` [IDR per member per month] and
    ``contribution_surplus_total`` [IDR per year]: contributions minus medical cost, as in the
    paper (administration not deducted), and ``fund_result_total`` [IDR per year]: the
    contribution surplus minus administration, the quantity of the Monte Carlo report. With a population:
    ``population`` [persons], ``coverage`` (registered members / population) and
    ``active_coverage`` (active members / population), fractions.
    """
    if not isinstance(ds, xr.Dataset):
        ds = project(ds if isinstance(ds, Config) else load_config(ds))
    rows = []
    for year in ds.year.values:
        d = ds.sel(year=year)
        members = float(d.members.sum())
        mm = members * 12.0
        income, cost = float(d.income.sum()), float(d.medical_cost.sum())
        admin = float(d.admin_cost.sum())
        rows.append({"year": int(year), "members": members, "income_pmpm": income / mm,
                     "cost_pmpm": cost / mm, "claim_ratio": cost / income,
                     "contribution_surplus_pmpm": (income - cost) / mm,
                     "contribution_surplus_total": income - cost,
                     "fund_result_total": income - cost - admin})
        if "active_coverage_national" in d:
            pop = float(d.population.sum())
            rows[-1].update(population=pop, coverage=members / pop,
                            active_coverage=float(d.active_coverage_national))
    return rows
