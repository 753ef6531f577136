"""One block of simulations -> an xarray Dataset. Pure: no Dask, no file I/O.

``simulate_block(params, sims)`` draws each simulation's uncertain parameters (the IBNR
completion factor from the bootstrap distribution, keyed by (seed, simulation, care)), runs
the claims kernel for every cell (year, region, segment, care) and adds the fund's finance per
cell and per compartment. Simulation ``s`` gives the same bits in whatever block, order or
process it is computed.
"""
from __future__ import annotations

import zlib

import numpy as np
import xarray as xr

from jkn_risk.finance import cell_finance, compartment_finance, compartment_labels
from jkn_risk.kernels.claims import (METHOD_COLLECTIVE, METHOD_INDIVIDUAL, NO_CAP,
                                     OUT_CLAIMS, OUT_CLAIMS_UNCAPPED, OUT_EVENTS,
                                     OUT_MEMBERS_OVER_CAP, OUT_MEMBERS_WITH_EVENTS, simulate_cells)
from jkn_risk.kernels.alias import build_alias_table
from jkn_risk.parameters import Parameters
from jkn_risk.projection import expected_costs
from jkn_risk.rng import TAG_IBNR, uniforms_for

__all__ = ["simulate_block", "static_dataset", "block_template", "ibnr_draws", "kernel_inputs",
           "VARIABLES"]

_D5 = ("sim", "year", "region", "segment", "care")
_D4 = ("sim", "year", "region", "segment")
_DC = ("sim", "year", "compartment")

# name -> (dims, dtype, units, long_name)
VARIABLES = {
    "events": (_D5, "int64", "1", "INA-CBG cases"),
    "members_with_events": (_D5, "int64", "1", "members with at least one case (-1: not drawn)"),
    "claims_uncapped": (_D5, "int64", "IDR", "INA-CBG claims before the annual cap"),
    "claims": (_D5, "int64", "IDR", "INA-CBG claims after the annual cap"),
    "members_over_cap": (_D5, "int64", "1", "members whose annual claims exceed the cap"),
    "non_cbg_cost": (_D4, "float64", "IDR", "capitation, non-capitation and other non-CBG cost"),
    "income": (_D4, "float64", "IDR", "contributions received"),
    "admin_cost": (_D4, "float64", "IDR", "administration cost"),
    "surplus": (_D4, "float64", "IDR", "contributions - claims - non-CBG - administration"),
    "ibnr_factor": (("sim", "care"), "float64", "1", "IBNR completion factor drawn"),
    "income_compartment": (_DC, "float64", "IDR", "contributions received by compartment"),
    "medical_cost_compartment": (_DC, "float64", "IDR", "claims + non-CBG cost by compartment"),
    "admin_cost_compartment": (_DC, "float64", "IDR", "administration cost by compartment"),
    "surplus_compartment": (_DC, "float64", "IDR",
                            "surplus borne by the fund, after regional-government payments"),
    "regional_government_share": (_DC, "float64", "IDR",
                                  "deficit paid by regional governments"),
    "expected_surplus_compartment": (_DC, "float64", "IDR",
                                     "E[surplus | this simulation's parameters] (projection)"),
}


def _cell_key(year: int, region: str, segment: str, care: str) -> int:
    """A stable identity for a cell, from its labels (not its position)."""
    return zlib.crc32(f"{year}|{region}|{segment}|{care}".encode())


def _alias_tables(params: Parameters):
    R, C = len(params.regions), len(params.care)
    k = max(m.probability.size for m in params.case_mix.values())
    prob = np.zeros((R * C, k))
    index = np.zeros((R * C, k), dtype=np.int64)
    n_groups = np.zeros(R * C, dtype=np.int64)
    for (r, c), mix in params.case_mix.items():
        p, a = build_alias_table(mix.probability)
        n = p.size
        prob[r * C + c, :n], index[r * C + c, :n], n_groups[r * C + c] = p, a, n
    return prob, index, n_groups


def kernel_inputs(params: Parameters) -> dict[str, np.ndarray]:
    """The kernel's per-cell arrays (everything but ``sims`` and ``rate``), cells flattened in
    (year, region, segment, care) order."""
    Y, R, S, C = params.shape
    years, regions, segments, care = params.years, params.regions, params.segments, params.care
    keys = np.array([_cell_key(years[y], regions[r], segments[s], care[c])
                     for y in range(Y) for r in range(R) for s in range(S) for c in range(C)],
                    dtype=np.int64)
    members = np.broadcast_to(np.rint(params.members)[..., None], (Y, R, S, C)).astype(np.int64)
    mix = np.broadcast_to((np.arange(R)[:, None] * C + np.arange(C)[None, :])[None, :, None, :],
                          (Y, R, S, C))
    k = max(m.probability.size for m in params.case_mix.values())
    n = Y * R * S * C
    cap_value = NO_CAP if params.annual_cap is None else int(np.rint(params.annual_cap))
    cap_c = np.array([cap_value if applies else NO_CAP for applies in params.cap_care], dtype=np.int64)
    cap = np.broadcast_to(cap_c, (Y, R, S, C)).ravel()
    if params.method == "auto":  # collective where no cap applies: exact and O(case groups)
        method = np.where(cap == NO_CAP, METHOD_COLLECTIVE, METHOD_INDIVIDUAL)
    else:
        method = np.full(n, {"individual": METHOD_INDIVIDUAL, "collective": METHOD_COLLECTIVE}[params.method])
    prob, index, n_groups = _alias_tables(params)
    return {
        "cell_key": keys, "members": members.ravel(), "mix": mix.ravel().astype(np.int64),
        "frequency": np.full(n, params.frequency, dtype=np.int64),
        "dispersion": np.full(n, params.dispersion), "alias_prob": prob, "alias_index": index,
        "n_groups": n_groups, "tariff": params.tariffs().reshape(n, k),
        "sigma": np.full(n, params.cost_noise_sigma), "cap": np.ascontiguousarray(cap),
        "method": method.astype(np.int64),
    }


def ibnr_draws(params: Parameters, sims: np.ndarray) -> np.ndarray:
    """IBNR completion factor per simulation and care type, ndarray(float64, (n_sim, C)).

    Where the config gives a bootstrap, simulation ``s`` uses replicate
    ``floor(u * n_boot)`` with ``u`` from the stream keyed by (seed, s, care index).
    """
    sims = np.asarray(sims, dtype=np.int64)
    out = np.empty((sims.size, len(params.care)))
    for c, samples in enumerate(params.ibnr_samples):
        if samples is None:
            out[:, c] = params.ibnr_factor[c]
        else:
            u = uniforms_for(TAG_IBNR, params.seed, sims, c)
            out[:, c] = samples[np.minimum((u * samples.size).astype(np.int64), samples.size - 1)]
    return out


def _coords(params: Parameters, sims=None) -> dict:
    coords = {"year": np.array(params.years, dtype=np.int64),
              "region": np.array(params.regions, dtype=object),
              "segment": np.array(params.segments, dtype=object),
              "care": np.array(params.care, dtype=object),
              "compartment": np.array(compartment_labels(params.compartments, params.regions,
                                                          params.segments), dtype=object)}
    if sims is not None:
        coords["sim"] = np.asarray(sims, dtype=np.int64)
    return coords


def simulate_block(params: Parameters, sims, threads: int | None = None) -> xr.Dataset:
    """Simulate the given simulations.

    Parameters
    ----------
    params : Parameters
    sims : array_like of int, shape (n_sim,)
        Simulation indices (any subset of ``range(params.n_sims)``, any order).
    threads : int, optional
        Numba threads for the kernel.

    Returns
    -------
    xr.Dataset
        The variables of :data:`VARIABLES`, each with a leading ``sim`` dimension.
    """
    sims = np.asarray(sims, dtype=np.int64)
    Y, R, S, C = params.shape
    ibnr = ibnr_draws(params, sims)  # (n, C)
    rate = (params.rate[None] * ibnr[:, None, None, None, :]).reshape(sims.size, -1)
    out = simulate_cells(seed=params.seed, sims=sims, rate=rate, threads=threads,
                         **kernel_inputs(params))
    out = out.reshape(sims.size, Y, R, S, C, -1)
    claims = out[..., OUT_CLAIMS]
    cells = cell_finance(params, claims)
    expected = expected_costs(params, ibnr)
    exp_surplus = (expected["income"] - expected["cbg_cost"].sum(axis=-1)
                   - expected["non_cbg_cost"] - expected["admin_cost"])
    comp = compartment_finance(params, cells, expected_surplus=exp_surplus)
    data = {"events": out[..., OUT_EVENTS], "members_with_events": out[..., OUT_MEMBERS_WITH_EVENTS],
            "claims_uncapped": out[..., OUT_CLAIMS_UNCAPPED], "claims": claims,
            "members_over_cap": out[..., OUT_MEMBERS_OVER_CAP],
            "non_cbg_cost": cells["non_cbg_cost"], "income": cells["income"],
            "admin_cost": cells["admin_cost"], "surplus": cells["surplus"], "ibnr_factor": ibnr,
            **comp}
    ds = xr.Dataset(coords=_coords(params, sims))
    for name, (dims, dtype, units, long_name) in VARIABLES.items():
        ds[name] = xr.Variable(dims, np.ascontiguousarray(data[name], dtype=dtype),
                               {"units": units, "long_name": long_name})
    return ds


def static_dataset(params: Parameters) -> xr.Dataset:
    """Variables without a ``sim`` dimension (``members``) and every coordinate."""
    ds = xr.Dataset(coords=_coords(params))
    ds["members"] = xr.Variable(("year", "region", "segment"), params.members,
                                {"units": "member-years", "long_name": "average members"})
    return ds


def block_template(params: Parameters) -> xr.Dataset:
    """The schema of :func:`simulate_block` for one simulation, filled with zeros (no kernel)."""
    coords = _coords(params, np.array([0]))
    sizes = {d: len(v) for d, v in coords.items()}
    ds = xr.Dataset(coords=coords)
    for name, (dims, dtype, units, long_name) in VARIABLES.items():
        ds[name] = xr.Variable(dims, np.zeros([sizes[d] for d in dims], dtype=dtype),
                               {"units": units, "long_name": long_name})
    return ds
