"""Small fake results Datasets with the schema of ``jkn_risk.results``, for the report's tests.

``make_results`` builds every variable consistently (surplus = income - claims - non-CBG - administration;
compartments are sums of cells; ``expected_surplus_compartment`` is the exact conditional mean given each
simulation's parameters). ``compartment_dataset`` wraps given surplus arrays for exact-answer tests.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

YEARS = tuple(range(2014, 2020))
REGIONS = ("R1", "R2", "R3", "R4", "R5")
SEGMENTS = ("PBI-APBN", "PBI-APBD", "PPU", "PBPU", "BP")
CARE = ("inpatient", "outpatient")
# 2014 members (millions, DOMAIN.md Table 2) and a rough claim-ratio target per segment
_MEMBERS = {"PBI-APBN": 86.4, "PBI-APBD": 6.4, "PPU": 23.1, "PBPU": 4.2, "BP": 4.9}
_CLAIM_RATIO = {"PBI-APBN": 0.95, "PBI-APBD": 1.05, "PPU": 0.8, "PBPU": 3.0, "BP": 1.3}
_REGION_SHARE = np.array([0.56, 0.13, 0.20, 0.02, 0.09])
_ATTRS = {
    "members": ("member-years", "average members"),
    "events": ("1", "number of CBG cases"),
    "claims": ("IDR", "CBG claims paid (after the annual cap)"),
    "claims_uncapped": ("IDR", "CBG claims before the annual cap"),
    "members_with_events": ("1", "members with at least one case"),
    "members_over_cap": ("1", "members whose claims reached the annual cap"),
    "non_cbg_cost": ("IDR", "non-CBG cost (capitation and other)"),
    "income": ("IDR", "contribution income"),
    "admin_cost": ("IDR", "administration cost"),
    "surplus": ("IDR", "surplus"),
    "ibnr_factor": ("1", "IBNR completion factor"),
    "income_compartment": ("IDR", "contribution income per compartment"),
    "medical_cost_compartment": ("IDR", "medical cost per compartment"),
    "admin_cost_compartment": ("IDR", "administration cost per compartment"),
    "surplus_compartment": ("IDR", "surplus borne by the fund per compartment"),
    "regional_government_share": ("IDR", "deficit borne by regional governments"),
    "expected_surplus_compartment": ("IDR", "E[surplus | parameters] per compartment"),
}


def _attrs(ds: xr.Dataset, **global_attrs) -> xr.Dataset:
    for name, (units, long_name) in _ATTRS.items():
        if name in ds:
            ds[name].attrs.update(units=units, long_name=long_name)
    ds.attrs.update({"Conventions": "CF-1.12", "config_yaml": "name: synthetic\n", "config_name": "jkn2014",
                     "seed": 1234, "n_sims": ds.sizes["sim"], "block_size": ds.sizes["sim"],
                     "jkn_risk_version": "0.1.0", "numpy_version": np.__version__,
                     "created": "2026-01-01T00:00:00Z"})
    ds.attrs.update(global_attrs)
    return ds


def _compartments(cell: xr.DataArray, scheme: str) -> xr.DataArray:
    """Sum a (…, region, segment) array into compartments of the scheme."""
    if scheme == "pooled":
        return cell.sum(["region", "segment"]).expand_dims(compartment=["national"], axis=-1)
    if scheme == "segment":
        return cell.sum("region").rename(segment="compartment")
    if scheme == "region":
        return cell.sum("segment").rename(region="compartment")
    stacked = cell.stack(compartment=("segment", "region"))
    labels = [f"{s}/{r}" for s, r in stacked["compartment"].values]
    return stacked.drop_vars(["compartment", "segment", "region"]).assign_coords(compartment=labels)


def _one_scenario(n_sims, scheme, rng_state, regional_share, util=1.0, tariff=1.0, income_mult=1.0):
    """One scenario; the same ``rng_state`` gives the same random numbers (common random numbers)."""
    rng = np.random.Generator(np.random.PCG64(rng_state))
    ny, nr, ns, nc = len(YEARS), len(REGIONS), len(SEGMENTS), len(CARE)
    growth = np.array([1.0, 1.25, 1.45, 1.68, 1.80, 1.93])[:ny]
    members = (np.array([_MEMBERS[s] for s in SEGMENTS])[None, None, :] * 1e6
               * _REGION_SHARE[None, :, None] * growth[:, None, None])                  # (y, r, s)
    rate = np.array([0.0037, 0.019]) * 12                                                 # per member-year
    unit = np.array([4.85e6, 2.73e5]) * tariff
    seg_rel = np.array([1.0, 1.1, 0.9, 3.3, 1.4])
    # parameters per simulation: IBNR factor per care and a trend shock per year
    ibnr = 1.069 + 0.02 * rng.standard_normal((n_sims, nc))
    trend = np.exp(0.03 * rng.standard_normal((n_sims, ny)))
    lam = (members[None, ..., None] * rate * seg_rel[None, None, None, :, None] * util
           * ibnr[:, None, None, None, :] * trend[:, :, None, None, None])              # (sim, y, r, s, c)
    z = rng.standard_normal(lam.shape)
    events = np.maximum(np.rint(lam + np.sqrt(lam) * z), 0).astype(np.int64)
    noise = 1.0 + 0.002 * rng.standard_normal(lam.shape)
    claims_uncapped = np.rint(events * unit * noise).astype(np.int64)
    claims = claims_uncapped  # no cap
    non_cbg = np.broadcast_to(members * 9000 * 12, (n_sims, ny, nr, ns)).astype(np.float64)
    exp_claims = (members[..., None] * rate * seg_rel[None, None, :, None] * unit).sum(-1)
    target = np.array([_CLAIM_RATIO[s] for s in SEGMENTS])
    income = np.broadcast_to((exp_claims / tariff * 1.069 + members * 9000 * 12) / (target * 0.94) * income_mult,
                             (n_sims, ny, nr, ns)).copy()
    admin = 0.0625 * income
    surplus = income - claims.sum(-1) - non_cbg - admin
    exp_surplus = income - (lam * unit).sum(-1) - non_cbg - admin                       # exact E[.|params]

    dims4, dims5 = ("sim", "year", "region", "segment"), ("sim", "year", "region", "segment", "care")
    coords = {"sim": np.arange(n_sims, dtype=np.int64), "year": np.array(YEARS, dtype=np.int64),
              "region": np.array(REGIONS, dtype=object), "segment": np.array(SEGMENTS, dtype=object),
              "care": np.array(CARE, dtype=object)}
    ds = xr.Dataset({
        "members": (dims4[1:], members), "events": (dims5, events), "claims": (dims5, claims),
        "claims_uncapped": (dims5, claims_uncapped),
        "members_with_events": (dims5, np.minimum(events, np.rint(members[None, ..., None]).astype(np.int64))),
        "members_over_cap": (dims5, np.zeros_like(events)),
        "non_cbg_cost": (dims4, non_cbg), "income": (dims4, income), "admin_cost": (dims4, admin),
        "surplus": (dims4, surplus), "ibnr_factor": (("sim", "care"), ibnr),
    }, coords=coords)
    comp = {k: _compartments(ds[v] if isinstance(v, str) else v, scheme) for k, v in {
        "income_compartment": "income", "admin_cost_compartment": "admin_cost",
        "medical_cost_compartment": ds["claims"].sum("care") + ds["non_cbg_cost"],
        "pre": "surplus", "exp": xr.DataArray(exp_surplus, dims=dims4, coords=ds["surplus"].coords)}.items()}
    share = regional_share * np.maximum(-comp["pre"], 0.0)
    ds["income_compartment"] = comp["income_compartment"]
    ds["medical_cost_compartment"] = comp["medical_cost_compartment"]
    ds["admin_cost_compartment"] = comp["admin_cost_compartment"]
    ds["surplus_compartment"] = comp["pre"] + share
    ds["regional_government_share"] = share
    ds["expected_surplus_compartment"] = comp["exp"]
    return ds


def make_results(n_sims: int = 64, *, compartments: str = "segment", seed: int = 0,
                 scenarios: dict[str, dict] | None = None, regional_share: float = 0.0,
                 config_name: str = "jkn2014") -> xr.Dataset:
    """A results Dataset with the full schema.

    Parameters
    ----------
    n_sims : int
    compartments : {"pooled", "segment", "region", "segment_region"}
    seed : int
        Seed of the fake simulation; every scenario reuses it (common random numbers).
    scenarios : dict, optional
        ``{name: {"util": x, "tariff": x, "income_mult": x}}``; adds a leading ``scenario`` dim (first must be
        ``"base"``).
    regional_share : float
        Share of each compartment's deficit borne by regional governments.
    """
    if scenarios is None:
        ds = _one_scenario(n_sims, compartments, seed, regional_share)
        return _attrs(ds, compartments=compartments, config_name=config_name)
    parts = [_one_scenario(n_sims, compartments, seed, regional_share, **kw) for kw in scenarios.values()]
    members = parts[0]["members"]
    ds = xr.concat([p.drop_vars("members") for p in parts], dim="scenario")
    ds = ds.assign_coords(scenario=np.array(list(scenarios), dtype=object))
    ds["members"] = members
    return _attrs(ds, compartments=compartments, config_name=config_name)


def compartment_dataset(surplus: np.ndarray, *, expected: np.ndarray | None = None,
                        compartments=("national",), years=None, share: np.ndarray | None = None) -> xr.Dataset:
    """Minimal Dataset around a given fund surplus array.

    Parameters
    ----------
    surplus : ndarray(float64, (n_sim, n_year, n_compartment)) [IDR]
    expected : ndarray, optional
        ``expected_surplus_compartment`` of the same shape.
    share : ndarray, optional
        ``regional_government_share`` of the same shape (``surplus`` is then the fund-borne part).
    """
    n_sim, n_year, n_comp = surplus.shape
    years = np.arange(2014, 2014 + n_year, dtype=np.int64) if years is None else np.asarray(years)
    dims = ("sim", "year", "compartment")
    income = np.full(surplus.shape, 100.0)
    ds = xr.Dataset({"surplus_compartment": (dims, surplus), "income_compartment": (dims, income),
                     "medical_cost_compartment": (dims, income - surplus)},
                    coords={"sim": np.arange(n_sim, dtype=np.int64), "year": years,
                            "compartment": np.array(compartments, dtype=object)})
    if expected is not None:
        ds["expected_surplus_compartment"] = (dims, expected)
    if share is not None:
        ds["regional_government_share"] = (dims, share)
    return _attrs(ds, compartments="test")
