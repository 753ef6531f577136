"""Samplers for the reserving bootstrap: the claims kernel's own samplers, reused.

Each takes the four xoshiro256** state words of :mod:`jkn_risk.rng` and returns
``(value, s0, s1, s2, s3)``, so a replicate's draws are a pure function of its stream key.
``std_normal`` is the ziggurat normal, ``gamma`` Marsaglia & Tsang (2000) and ``poisson``
inversion (small means) or Hörmann's PTRS; see :mod:`jkn_risk.kernels.sampling`.
"""
from __future__ import annotations

from jkn_risk.kernels.sampling import gamma, poisson
from jkn_risk.kernels.sampling import normal as std_normal

__all__ = ["std_normal", "gamma", "poisson"]
