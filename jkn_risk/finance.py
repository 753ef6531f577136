"""Fund finance: contributions - claims - non-CBG - administration = surplus, by compartment.

Per simulation, year, region and segment the fund receives contributions and pays INA-CBG
claims (after any annual cap), non-CBG costs and administration. Compartments (seed 000)
group the (region, segment) cells into separately managed pockets:

``pooled``         one national fund ("national");
``segment``        one pocket per segment (PBI-APBN money funds only PBI-APBN);
``region``         one pocket per INA-CBG tariff region;
``segment_region`` one pocket per (segment, region), labelled "SEGMENT/REGION".

Regional-government deficit share (seed 000, policy 1): the government of each region pays
``share`` x the deficit of its region (all segments together, after administration). The
payment is credited to the compartments holding that region's loss-making cells, pro rata to
their losses; ``surplus_compartment`` is what the fund bears after it, and
``regional_government_share`` records what regional governments paid. Payments sum to the
same total whatever the compartment scheme, so compartments always add up to the pooled fund.
"""
from __future__ import annotations

import numpy as np

__all__ = ["compartment_labels", "compartment_matrix", "cell_finance", "expected_cell_surplus",
           "compartment_finance"]


def compartment_labels(scheme: str, regions, segments) -> list[str]:
    """Compartment names for a scheme, in a fixed order."""
    if scheme == "pooled":
        return ["national"]
    if scheme == "segment":
        return list(segments)
    if scheme == "region":
        return list(regions)
    if scheme == "segment_region":
        return [f"{s}/{r}" for s in segments for r in regions]
    raise ValueError(f"unknown compartment scheme {scheme!r}")


def compartment_matrix(scheme: str, regions, segments) -> np.ndarray:
    """Membership of cells in compartments, ndarray(float64, (n_comp, R, S)) of 0/1."""
    labels = compartment_labels(scheme, regions, segments)
    R, S = len(regions), len(segments)
    a = np.zeros((len(labels), R, S))
    for r, region in enumerate(regions):
        for s, seg in enumerate(segments):
            key = {"pooled": "national", "segment": seg, "region": region,
                   "segment_region": f"{seg}/{region}"}[scheme]
            a[labels.index(key), r, s] = 1.0
    return a


def cell_finance(drawn, admin_share: np.ndarray, claims: np.ndarray) -> dict[str, np.ndarray]:
    """Income, costs and surplus per cell.

    Parameters
    ----------
    drawn : DrawnParameters
        The block's assumptions after the draws (:mod:`jkn_risk.assumptions`): ``members``
        (n_sim, Y, R, S), ``collected_pmpm`` (n_sim, Y, S), ``non_cbg_pmpm`` (n_sim, Y, R, S).
    admin_share : ndarray(float64, (Y,))
        Administration cost as a share of contributions received.
    claims : ndarray(int64 or float64, (n_sim, Y, R, S, C)) [IDR], CBG claims after the cap

    Returns
    -------
    dict of ndarray(float64, (n_sim, Y, R, S)) [IDR]: ``income``, ``non_cbg_cost``,
    ``admin_cost``, ``medical_cost`` (claims + non-CBG), ``surplus``.
    """
    m = drawn.members
    income = m * 12.0 * drawn.collected_pmpm[:, :, None, :]
    non_cbg = m * 12.0 * drawn.non_cbg_pmpm
    admin = income * admin_share[None, :, None, None]
    medical = claims.sum(axis=-1, dtype=np.float64) + non_cbg
    return {"income": income, "non_cbg_cost": non_cbg, "admin_cost": admin,
            "medical_cost": medical, "surplus": income - medical - admin}


def expected_cell_surplus(drawn, admin_share: np.ndarray, expected_claims: np.ndarray) -> np.ndarray:
    """E[surplus | this simulation's drawn assumptions and IBNR factor] per cell.

    Parameters
    ----------
    drawn : DrawnParameters
    admin_share : ndarray(float64, (Y,))
    expected_claims : ndarray(float64, (n_sim, Y, R, S, C)) [IDR], the expected CBG claims
        given the draws (capped where the per-member cap applies:
        :func:`jkn_risk.limited_value.expected_capped_claims`)

    Returns
    -------
    ndarray(float64, (n_sim, Y, R, S)) [IDR]
    """
    m = drawn.members
    income = m * 12.0 * drawn.collected_pmpm[:, :, None, :]
    non_cbg = m * 12.0 * drawn.non_cbg_pmpm
    admin = income * admin_share[None, :, None, None]
    return income - expected_claims.sum(axis=-1) - non_cbg - admin


def _regional_payment(surplus: np.ndarray, share: float) -> np.ndarray:
    """Regional governments' payments credited to cells, (n_sim, Y, R, S) [IDR]."""
    if share <= 0:
        return np.zeros_like(surplus)
    region_deficit = np.maximum(-surplus.sum(axis=-1), 0.0)  # (n_sim, Y, R)
    losses = np.maximum(-surplus, 0.0)
    total = losses.sum(axis=-1, keepdims=True)
    weight = np.divide(losses, total, out=np.zeros_like(losses), where=total > 0)
    return share * region_deficit[..., None] * weight


def compartment_finance(params, cells: dict[str, np.ndarray], scheme: str | None = None,
                        expected_surplus: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Aggregate cell finance to compartments.

    Parameters
    ----------
    params : Parameters
    cells : dict from :func:`cell_finance`
    scheme : str, optional
        Compartment scheme; defaults to ``params.compartments``.
    expected_surplus : ndarray(float64, (n_sim, Y, R, S)), optional
        E[surplus | parameters] per cell (before regional-government payments).

    Returns
    -------
    dict of ndarray(float64, (n_sim, Y, n_comp)) [IDR]: ``income_compartment``,
    ``medical_cost_compartment``, ``admin_cost_compartment``, ``surplus_compartment`` (borne by
    the fund), ``regional_government_share``, and ``expected_surplus_compartment`` if given.
    """
    scheme = scheme or params.compartments
    a = compartment_matrix(scheme, params.regions, params.segments)

    def agg(x: np.ndarray) -> np.ndarray:
        # cell by cell in a fixed order: the bits must not depend on how many simulations
        # a block holds (einsum/BLAS paths change with the shape)
        out = np.zeros(x.shape[:2] + (a.shape[0],))
        for c in range(a.shape[0]):
            for r, s in zip(*np.nonzero(a[c])):
                out[:, :, c] += x[:, :, r, s]
        return out
    pay = _regional_payment(cells["surplus"], params.regional_government_share)
    out = {"income_compartment": agg(cells["income"]),
           "medical_cost_compartment": agg(cells["medical_cost"]),
           "admin_cost_compartment": agg(cells["admin_cost"]),
           "regional_government_share": agg(pay),
           "surplus_compartment": agg(cells["surplus"] + pay)}
    if expected_surplus is not None:
        out["expected_surplus_compartment"] = agg(expected_surplus)
    return out
