"""Active coverage (seed 003): active JKN members / population.

A member is *active* when registered and entitled to care because the contribution is paid (by
a budget, an employer or the member). Per segment that is the registered members times the
segment's collection rate, the same rate that drives contribution income, so that income and
coverage can never disagree:

* segments paid by a budget (PBI) or an employer (PPU) have collection 1 in the 2014 configs:
  every registered member is active;
* self-paying segments (PBPU, BP) are active in proportion to the share of billed
  contributions actually paid;
* a budget-paid segment with a "paid share" below 1 (``configs/jkn2024.yaml``: registered PBI
  members beyond what the 2023 budget paid for) counts only its paid share as active.

Contributions a humanitarian fund pays for unpaid class-III PBPU members (the
``policy.humanitarian_fund_share`` stress) are income but do not make those members active here.

Coverage per region = active members of the region / its population; national coverage =
all active members / the whole population, which is exactly the population-weighted mean of the
regional coverages. Pure array functions, any leading axes (``sim``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["active_members", "coverage", "national_coverage"]


def active_members(members: np.ndarray, collection: np.ndarray) -> np.ndarray:
    """Active members per cell.

    Parameters
    ----------
    members : ndarray(float64, (..., n_year, n_region, n_segment)) [member-years]
        Registered members (drawn or deterministic).
    collection : ndarray(float64, (..., n_year, n_segment)) [1]
        Share of billed contributions paid, per segment (the drawn collection rate).

    Returns
    -------
    ndarray(float64, (..., n_year, n_region, n_segment)) [member-years]
    """
    members = np.asarray(members, dtype=np.float64)
    collection = np.asarray(collection, dtype=np.float64)
    return members * collection[..., :, None, :]


def coverage(active: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Active coverage per region: active members of all segments / population.

    Parameters
    ----------
    active : ndarray(float64, (..., n_year, n_region, n_segment)) [member-years]
    population : ndarray(float64, (n_year, n_region)) [persons], positive

    Returns
    -------
    ndarray(float64, (..., n_year, n_region)) [1] (a fraction: 0.98 is 98%)
    """
    return np.asarray(active, dtype=np.float64).sum(axis=-1) / np.asarray(population, dtype=np.float64)


def national_coverage(active: np.ndarray, population: np.ndarray) -> np.ndarray:
    """National active coverage, ndarray(float64, (..., n_year)) [1]: all active members / the
    whole population (arguments as :func:`coverage`).

    Equal to ``sum_r w_r coverage_r`` with ``w_r = population_r / sum population`` (the
    population-weighted regional coverages).
    """
    active = np.asarray(active, dtype=np.float64)
    return active.sum(axis=(-2, -1)) / np.asarray(population, dtype=np.float64).sum(axis=-1)
