"""One block of simulations -> an xarray Dataset. Pure: no Dask, no file I/O.

:func:`prepare_run` builds, once per run, everything that is the same for every block (the
kernel's inputs and tables, the assumption model, the expected cost per case); every block then
calls :func:`simulate_block`, which

1. draws each simulation's uncertain assumptions (:mod:`jkn_risk.assumptions`) and its IBNR
   completion factor (a bootstrap replicate, keyed by (seed, simulation, care)),
2. runs the claims kernel for every cell (year, region, segment, care) with the drawn rates,
   members and unit-cost scales,
3. adds the fund's finance per cell and per compartment, and, when the config gives a
   population, active members and active coverage (:mod:`jkn_risk.coverage`).

Simulation ``s`` gives the same bits in whatever block, order or process it is computed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from jkn_risk.assumptions import AssumptionModel, build_assumption_model, draw, drawn_parameters
from jkn_risk.cells import build_kernel_inputs
from jkn_risk.coverage import active_members, coverage, national_coverage
from jkn_risk.finance import cell_finance, compartment_finance, expected_cell_surplus
from jkn_risk.fund import CAP, FundSpec, build_fund_spec, roll_forward
from jkn_risk.kernels.claims import (OUT_CLAIMS, OUT_CLAIMS_UNCAPPED, OUT_EVENTS,
                                     OUT_MEMBERS_OVER_CAP, OUT_MEMBERS_WITH_EVENTS, KernelInputs,
                                     simulate_cells)
from jkn_risk.limited_value import LimitedValue, build_limited_value, expected_capped_claims
from jkn_risk.outputs import (block_template, block_variables, coordinates, fund_dataset,
                              static_dataset, to_dataset)
from jkn_risk.parameters import Parameters
from jkn_risk.rng import TAG_IBNR, uniforms_for

__all__ = ["PreparedRun", "prepare_run", "simulate_block", "ibnr_draws", "STREAM_GROUPS"]

#: Stream groups besides the assumption drivers: the claims process (the kernel's streams) and
#: the IBNR completion factor. Each group's streams can be taken from another simulation
#: (``streams`` of :func:`simulate_block`), which is how attribution re-keys one at a time.
STREAM_GROUPS = ("process", "ibnr")


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """What every block of a run shares (built once, pickled once to each Dask worker)."""

    params: Parameters
    kernel: KernelInputs
    assumptions: AssumptionModel
    mean_cost_per_case: np.ndarray  # (Y, R, S, C) [IDR] of the integer tariffs
    fund: FundSpec | None = None    # the fund's roll-forward, when the config has a fund: block
    limited: LimitedValue | None = None  # E[min(S_n, u)] per capped case mix, when capped

    @property
    def drivers(self) -> tuple[str, ...]:
        return self.assumptions.drivers

    @property
    def variables(self) -> dict:
        """The variables of a block (:func:`jkn_risk.outputs.block_variables`)."""
        return block_variables(self.params.population is not None,
                               None if self.fund is None else len(self.fund.rules))

    def template(self) -> xr.Dataset:
        """One simulation of zeros with the schema of :func:`simulate_block`."""
        extra = ({"rule": np.array(self.fund.rule_names, dtype=object)}
                 if self.fund is not None and self.fund.rules else None)
        return block_template(self.params, self.drivers, self.variables, extra)

    def static(self) -> xr.Dataset:
        """The variables without ``sim`` and every coordinate."""
        return static_dataset(self.params, self.drivers)


def prepare_run(params: Parameters) -> PreparedRun:
    """Build the kernel inputs, the assumption model, the expected costs (capped ones by
    their limited expected values) and the fund's roll-forward once."""
    fund = None
    if params.fund is not None:
        fund = build_fund_spec(params.fund, params.years, params.segments, params.compartments,
                               params.regions, admin_share=params.admin_share,
                               regional_government_share=params.regional_government_share)
    return PreparedRun(params=params, kernel=build_kernel_inputs(params),
                       assumptions=build_assumption_model(params, params.uncertainty),
                       mean_cost_per_case=params.mean_cost_per_case(), fund=fund,
                       limited=build_limited_value(params))


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


def simulate_block(run: PreparedRun, sims, threads: int | None = None,
                   streams: dict[str, np.ndarray] | None = None) -> xr.Dataset:
    """Simulate the given simulations.

    Parameters
    ----------
    run : PreparedRun
        From :func:`prepare_run`.
    sims : array_like of int, shape (n_sim,)
        Simulation indices (any subset of ``range(params.n_sims)``, any order).
    threads : int, optional
        Numba threads for the kernel.
    streams : dict, optional
        ``{group: simulation ids (n_sim,)}`` for a driver, ``"process"`` or ``"ibnr"``: that
        group draws the random numbers of those simulations instead of ``sims``.

    Returns
    -------
    xr.Dataset
        The variables of :data:`jkn_risk.outputs.VARIABLES`, each with a leading ``sim``.
    """
    params = run.params
    sims = np.asarray(sims, dtype=np.int64)
    streams = streams or {}
    n = sims.size
    Y, R, S, C = params.shape
    ibnr = ibnr_draws(params, streams.get("ibnr", sims))  # (n, C)
    draws = draw(run.assumptions, sims, streams)
    drawn = drawn_parameters(params, run.assumptions, draws)
    rate = (drawn.rate * ibnr[:, None, None, None, :]).reshape(n, -1)
    members = np.broadcast_to(np.rint(drawn.members)[..., None], (n, Y, R, S, C)).reshape(n, -1)
    out = simulate_cells(run.kernel, streams.get("process", sims), rate, members,
                         drawn.cost_scale.reshape(n, -1), threads=threads)
    out = out.reshape(n, Y, R, S, C, -1)
    claims = out[..., OUT_CLAIMS]
    cells = cell_finance(drawn, params.admin_share, claims)
    expected = expected_cell_surplus(drawn, params.admin_share, _expected_claims(run, drawn, ibnr))
    comp = compartment_finance(params, cells, expected_surplus=expected)
    data = {"events": out[..., OUT_EVENTS], "members_with_events": out[..., OUT_MEMBERS_WITH_EVENTS],
            "claims_uncapped": out[..., OUT_CLAIMS_UNCAPPED], "claims": claims,
            "members_over_cap": out[..., OUT_MEMBERS_OVER_CAP], "members_drawn": drawn.members,
            "non_cbg_cost": cells["non_cbg_cost"], "income": cells["income"],
            "admin_cost": cells["admin_cost"], "surplus": cells["surplus"], "ibnr_factor": ibnr,
            "factor": draws.factor, **comp}
    if params.population is not None:  # the same members and collection rates as the income
        active = active_members(drawn.members, drawn.collection)
        data.update(active_members=active, active_coverage=coverage(active, params.population),
                    active_coverage_national=national_coverage(active, params.population))
    ds = to_dataset(coordinates(params, run.drivers, sims), data,
                    block_variables(params.population is not None, None))
    if run.fund is None:
        return ds
    return xr.merge([ds, _fund(run, cells, out, drawn, sims)], compat="identical",
                     join="exact", combine_attrs="override")


def _expected_claims(run: PreparedRun, drawn, ibnr: np.ndarray) -> np.ndarray:
    """Expected CBG claims per cell given the draws, (n, Y, R, S, C) [IDR]: events times the
    scaled mean cost per case, or the limited expected value where the cap applies."""
    f = ibnr[:, None, None, None, :]
    claims = drawn.members[..., None] * drawn.rate * f * run.mean_cost_per_case[None] * drawn.cost_scale
    if run.limited is None:
        return claims
    return expected_capped_claims(run.limited, run.params, drawn.members, drawn.rate * f,
                                  drawn.cost_scale, claims)


def _fund(run: PreparedRun, cells: dict, out: np.ndarray, drawn, sims) -> xr.Dataset:
    """The fund's roll-forward of this block (``run.fund`` set)."""
    spec = run.fund
    if any(r.kind == CAP for r in spec.rules):  # the cap switches on when a rule fires
        uncapped = out[..., OUT_CLAIMS_UNCAPPED].sum(axis=-1, dtype=np.float64) + cells["non_cbg_cost"]
        medical, capped = uncapped, cells["medical_cost"]
    else:
        medical, capped = cells["medical_cost"], None
    result = roll_forward(spec, cells["income"], medical, capped,
                          investment_yield=spec.investment_yield[None, :] * drawn.yield_factor)
    return fund_dataset(spec, result, sims)
