"""Base-year IBNR completion factors for the simulation: deterministic and bootstrap.

The completion factor of the base year is (ultimate) / (reported at the valuation date),
summed over the base year's origins. ``jkn_risk.project`` uses the chain-ladder factor; each
simulation draws one replicate of the ODP bootstrap distribution (parameter uncertainty).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from jkn_risk.reserving.bootstrap import BootstrapODP
from jkn_risk.reserving.chainladder import Chainladder
from jkn_risk.reserving.triangle import read_triangle

__all__ = ["completion_factors", "completion_factor"]


def completion_factors(triangle: str | Path, *, n_boot: int, seed: int, process: str = "gamma",
                       hat_adj: bool = True, origins: list[str] | None = None,
                       base_year: int | None = None) -> tuple[float, np.ndarray]:
    """Chain-ladder completion factor and its ODP-bootstrap replicates.

    Parameters
    ----------
    triangle : path to a claim-count triangle CSV
    n_boot : int
        Bootstrap replicates.
    seed : int
        Replicate ``r`` uses the stream keyed by (seed, r).
    origins : list of str, optional
        Origin labels of the base year; default: those starting with ``base_year``.

    Returns
    -------
    (factor, samples) : float [1], ndarray(float64, (n_boot,)) [1]
    """
    tri = read_triangle(triangle)
    select = origins if origins else (str(base_year) if base_year is not None else None)
    boot = BootstrapODP(n_sims=n_boot, random_state=seed, hat_adj=hat_adj, process=process).fit(tri)
    return boot.completion_factor(select), boot.completion_factor_samples(select)


def completion_factor(triangle: str | Path, *, origins: list[str] | None = None,
                      base_year: int | None = None) -> float:
    """The deterministic chain-ladder completion factor alone (no bootstrap): ultimate / latest
    summed over the base year's origins, the same number :func:`completion_factors` returns
    first."""
    tri = read_triangle(triangle)
    select = origins if origins else (str(base_year) if base_year is not None else None)
    return Chainladder().fit(tri).completion_factor(select)
