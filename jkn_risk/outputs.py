"""The results' schema: every variable of a simulated block, its dims, units and long name.

Owned here, below both :mod:`jkn_risk.simulate` (which fills it) and :mod:`jkn_risk.results`
(which stores it), so that neither reaches into the other; the fund's and the coverage's
variables too (their modules compute arrays, this one names them). ``block_template`` is one simulation
of zeros (the Zarr template); ``static_dataset`` holds what has no ``sim`` dimension.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from jkn_risk.finance import compartment_labels

__all__ = ["VARIABLES", "FUND_VARIABLES", "COVERAGE_VARIABLES", "block_variables", "coordinates",
           "block_template", "static_dataset", "to_dataset", "fund_dataset"]

_D5 = ("sim", "year", "region", "segment", "care")
_D4 = ("sim", "year", "region", "segment")
_DC = ("sim", "year", "compartment")
_DS, _DR = ("sim", "year", "segment"), ("sim", "year", "rule")

# name -> (dims, dtype, units, long_name)
VARIABLES = {
    "events": (_D5, "int64", "1", "INA-CBG cases"),
    "members_with_events": (_D5, "int64", "1", "members with at least one case (-1: not drawn)"),
    "claims_uncapped": (_D5, "int64", "IDR", "INA-CBG claims before the annual cap"),
    "claims": (_D5, "int64", "IDR", "INA-CBG claims after the annual cap"),
    "members_over_cap": (_D5, "int64", "1", "members whose annual claims exceed the cap"),
    "members_drawn": (_D4, "float64", "member-years", "average members in this simulation"),
    "non_cbg_cost": (_D4, "float64", "IDR", "capitation, non-capitation and other non-CBG cost"),
    "income": (_D4, "float64", "IDR", "contributions received"),
    "admin_cost": (_D4, "float64", "IDR", "administration cost"),
    "surplus": (_D4, "float64", "IDR", "contributions - claims - non-CBG - administration"),
    "ibnr_factor": (("sim", "care"), "float64", "1", "IBNR completion factor drawn"),
    "factor": (("sim", "year", "driver"), "float64", "1",
               "uncertain-assumption factor drawn (1: the deterministic assumption)"),
    "income_compartment": (_DC, "float64", "IDR", "contributions received by compartment"),
    "medical_cost_compartment": (_DC, "float64", "IDR", "claims + non-CBG cost by compartment"),
    "admin_cost_compartment": (_DC, "float64", "IDR", "administration cost by compartment"),
    "surplus_compartment": (_DC, "float64", "IDR",
                            "surplus borne by the fund, after regional-government payments"),
    "regional_government_share": (_DC, "float64", "IDR",
                                  "deficit paid by regional governments"),
    "expected_surplus_compartment": (_DC, "float64", "IDR",
                                     "E[surplus | this simulation's drawn parameters], INA-CBG "
                                     "claims after the annual cap (limited expected values)"),
}


#: The fund's variables (a config with ``fund:``): the keys of :func:`jkn_risk.fund.roll_forward`'s
#: result. Those with a ``rule`` dimension only when the config has rules.
FUND_VARIABLES = {
    "net_assets": (_DC, "int64", "IDR", "fund net assets at year end"),
    "months_of_claims": (_DC, "float64", "month", "12 x net assets at year end / medical cost of the year"),
    "fund_contributions": (_DC, "int64", "IDR", "contributions received, after any raise"),
    "fund_medical_cost": (_DC, "int64", "IDR", "claims + non-CBG cost borne, capped once a cap rule fired"),
    "fund_admin_cost": (_DC, "int64", "IDR", "administration cost"),
    "fund_regional_government_share": (_DC, "int64", "IDR", "deficit paid by regional governments"),
    "fund_other_income": (_DC, "int64", "IDR", "other income"),
    "investment_income": (_DC, "int64", "IDR", "investment income on the average balance"),
    "injection": (_DC, "int64", "IDR", "government injection (paid at year end)"),
    "contribution_multiplier": (_DS, "float64", "1", "contributions relative to the configured ones"),
    "cap_active": (_DC, "bool", "1", "annual benefit cap in force"),
    "rule_fired": (_DR, "bool", "1", "management rule fired at the end of the year"),
    "rule_triggers": (("sim", "rule"), "int64", "1", "number of years a management rule fired"),
}

#: The store's coverage variables (a config with ``population:``): name -> (dims, dtype, units,
#: long_name), as :data:`VARIABLES`.
COVERAGE_VARIABLES = {
    "active_members": (("sim", "year", "region", "segment"), "float64", "member-years",
                       "active members: registered members x share with the contribution paid"),
    "active_coverage": (("sim", "year", "region"), "float64", "1",
                        "active coverage: active members / population"),
    "active_coverage_national": (("sim", "year"), "float64", "1",
                                 "national active coverage: all active members / whole population"),
}


def _fund_variables(rules: int) -> dict:
    """:data:`FUND_VARIABLES`, those with a ``rule`` dimension only when there are rules."""
    return {k: v for k, v in FUND_VARIABLES.items() if rules or "rule" not in v[0]}


def block_variables(population: bool, rules: int | None) -> dict:
    """The variables of a block: :data:`VARIABLES`, the coverage's when a population is given,
    and the fund's when there is a fund (``rules``: its number of rules, or None)."""
    out = {**VARIABLES, **(COVERAGE_VARIABLES if population else {})}
    return out if rules is None else {**out, **_fund_variables(rules)}


def fund_dataset(spec, result: dict, sims) -> xr.Dataset:
    """Label a :func:`jkn_risk.fund.roll_forward` result: dims ``sim``, ``year``,
    ``compartment``, ``segment`` and, when the fund has rules, ``rule``.

    Parameters
    ----------
    spec : FundSpec
    result : dict from :func:`jkn_risk.fund.roll_forward`
    sims : array_like of int, shape (n_sim,)
    """
    coords = {"sim": np.asarray(sims, dtype=np.int64), "year": np.array(spec.years, dtype=np.int64),
              "compartment": np.array(spec.compartments, dtype=object),
              "segment": np.array(spec.segments, dtype=object)}
    if spec.rules:
        coords["rule"] = np.array(spec.rule_names, dtype=object)
    return to_dataset(coords, result, _fund_variables(len(spec.rules)))


def coordinates(params, drivers, sims=None) -> dict:
    """Coordinates of a results dataset: labels as object-dtype strings, years and sims int64."""
    coords = {"year": np.array(params.years, dtype=np.int64),
              "region": np.array(params.regions, dtype=object),
              "segment": np.array(params.segments, dtype=object),
              "care": np.array(params.care, dtype=object),
              "compartment": np.array(compartment_labels(params.compartments, params.regions,
                                                          params.segments), dtype=object),
              "driver": np.array(list(drivers), dtype=object)}
    if sims is not None:
        coords["sim"] = np.asarray(sims, dtype=np.int64)
    return coords


def to_dataset(coords: dict, data: dict, variables: dict = VARIABLES) -> xr.Dataset:
    """A Dataset of ``variables`` from arrays in ``data`` (each cast to its dtype)."""
    ds = xr.Dataset(coords=coords)
    for name, (dims, dtype, units, long_name) in variables.items():
        ds[name] = xr.Variable(dims, np.ascontiguousarray(data[name], dtype=dtype),
                               {"units": units, "long_name": long_name})
    return ds


def static_dataset(params, drivers) -> xr.Dataset:
    """Variables without a ``sim`` dimension (``members``: the deterministic membership;
    ``population`` when the config gives one) and every coordinate."""
    ds = xr.Dataset(coords=coordinates(params, drivers))
    ds["members"] = xr.Variable(("year", "region", "segment"), params.members,
                                {"units": "member-years", "long_name": "average members"})
    if params.population is not None:
        ds["population"] = xr.Variable(("year", "region"), params.population,
                                       {"units": "persons", "long_name": "mid-year population "
                                        "(deterministic: the same in every simulation)"})
    return ds


def block_template(params, drivers, variables: dict = VARIABLES, extra_coords=None) -> xr.Dataset:
    """The schema of one simulated block for one simulation, filled with zeros (no kernel).

    ``extra_coords``: coordinates of dimensions that only some runs have (the fund's rules)."""
    coords = {**coordinates(params, drivers, np.array([0])), **(extra_coords or {})}
    sizes = {d: len(v) for d, v in coords.items()}
    data = {name: np.zeros([sizes[d] for d in dims], dtype=dtype)
            for name, (dims, dtype, _, _) in variables.items()}
    return to_dataset(coords, data, variables)
