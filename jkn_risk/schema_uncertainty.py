"""The ``uncertainty:`` block of a config: which assumptions are uncertain, and how.

Every uncertain assumption is a named *driver* whose draws multiply the deterministic
assumption where it applies (:mod:`jkn_risk.assumptions` has the equations). Absent, or with
every sigma zero, the engine is deterministic in its assumptions, bit for bit.

```yaml
uncertainty:
  utilization:
    inpatient: {level: 0.05, trend: {sigma: 0.02, phi: 0.5, long_run_sigma: 0.01}}
    outpatient: {level: 0.05, trend: {sigma: 0.02, phi: 0.5}}
  unit_cost:
    inpatient: {level: 0.04}
    outpatient: {level: 0.04}
    tariff: {sigma: 0.01, phi: 0.3, jump_probability: 0.3, jump_mean: 0.0, jump_sigma: 0.04}
  non_cbg: {level: 0.05, trend: {sigma: 0.02, phi: 0.3}}
  wage: {sigma: 0.015, phi: 0.5, long_run_sigma: 0.01}
  collection: {PBPU: {sigma: 0.25, phi: 0.6}}         # logit scale
  membership: {PPU: {sigma: 0.02, phi: 0.5}}          # log growth; PBI-APBN is a policy quota
  shock: {probability: 0.05, log_multiplier: {mean: 0.0, sigma: 0.15}, duration: 2}
  investment_yield: {sigma: 0.1, phi: 0.5}            # log factor on the fund's yield
  correlation:
    drivers: [utilization.inpatient.trend, utilization.outpatient.trend]
    matrix: [[1.0, 0.6], [0.6, 1.0]]
```

Ranges are checked here with the key path of the offending value; names of segments and the
correlation's drivers against the rest of the config by :func:`check_uncertainty`.
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo,
                      field_validator)

__all__ = ["Uncertainty", "AR1", "TariffPath", "Shock", "Correlation", "check_uncertainty",
           "driver_names", "YEARLY_DRIVER_PREFIXES"]


def _in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"

    def check(v: float) -> float:
        if not np.isfinite(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
            raise ValueError(f"must be in {left}{lo:g}, {hi:g}{right}")
        return v
    return AfterValidator(check)


Sigma = Annotated[float, _in(0.0, 1.0)]           # sd of a log (or logit) innovation
Phi = Annotated[float, _in(-1.0, 1.0, True, True)]
LongRun = Annotated[float, _in(0.0, 0.5)]
Probability = Annotated[float, _in(0.0, 1.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AR1(_Model):
    """Deviations of yearly log growth (or of a logit) from the deterministic assumption.

    ``x_t = phi x_{t-1} + sigma e_t`` (stationary start), plus a long-run mean
    ``mu ~ N(0, long_run_sigma^2)`` drawn once per simulation.
    """

    sigma: Sigma = 0.0
    phi: Phi = 0.0
    long_run_sigma: LongRun = 0.0

    @property
    def active(self) -> bool:
        return self.sigma > 0 or self.long_run_sigma > 0


class TariffPath(AR1):
    """INA-CBG unit cost: an AR(1) of log growth plus tariff revisions, each year with
    probability ``jump_probability``, of log size ``N(jump_mean, jump_sigma^2)``."""

    jump_probability: Probability = 0.0
    jump_mean: Annotated[float, _in(-1.0, 1.0)] = 0.0
    jump_sigma: Sigma = 0.0

    @property
    def active(self) -> bool:
        return super().active or (self.jump_probability > 0
                                  and (self.jump_sigma > 0 or self.jump_mean != 0))


class Level(_Model):
    """``level``: sd of the base year's log level error (drawn once per simulation)."""

    level: Sigma = 0.0


class LevelTrend(Level):
    trend: AR1 = Field(default_factory=AR1)


class CareUtilization(_Model):
    inpatient: LevelTrend = Field(default_factory=LevelTrend)
    outpatient: LevelTrend = Field(default_factory=LevelTrend)


class UnitCost(_Model):
    inpatient: Level = Field(default_factory=Level)
    outpatient: Level = Field(default_factory=Level)
    tariff: TariffPath = Field(default_factory=TariffPath)


class LogMultiplier(_Model):
    mean: Annotated[float, _in(-2.0, 2.0)] = 0.0
    sigma: Annotated[float, _in(0.0, 2.0)] = 0.0


class Shock(_Model):
    """Epidemics and disruptions: each year one starts with ``probability``; it multiplies
    utilisation of the listed care types by ``exp(N(mean, sigma^2))`` (either sign) for
    ``duration`` years. Not mean-preserving: a shock is a risk the deterministic
    assumptions leave out."""

    probability: Probability = 0.0
    log_multiplier: LogMultiplier = Field(default_factory=LogMultiplier)
    duration: Annotated[int, Field(ge=1, le=10)] = 1
    care: list[str] = Field(default_factory=lambda: ["inpatient", "outpatient"])

    @field_validator("care")
    @classmethod
    def _care(cls, v: list[str]) -> list[str]:
        if any(c not in ("inpatient", "outpatient") for c in v):
            raise ValueError("must list inpatient and/or outpatient")
        return v

    @property
    def active(self) -> bool:
        return self.probability > 0 and (self.log_multiplier.sigma > 0
                                         or self.log_multiplier.mean != 0)


class Correlation(_Model):
    """Correlation of the yearly innovations of the listed drivers (a Gaussian copula).

    Problems are reported at ``drivers`` or ``matrix`` (field validators), so that the line
    names the offending key and shows its value."""

    drivers: list[str]
    matrix: list[list[float]]

    @field_validator("drivers")
    @classmethod
    def _drivers(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v) or len(v) < 2:
            raise ValueError("must be at least two distinct driver names")
        return v

    @field_validator("matrix")
    @classmethod
    def _matrix(cls, v: list[list[float]], info: ValidationInfo) -> list[list[float]]:
        rows = len(v)
        if rows == 0 or any(len(r) != rows for r in v):
            raise ValueError("must be a square matrix")
        n = len(info.data["drivers"]) if "drivers" in info.data else rows  # drivers invalid
        if rows != n:
            raise ValueError(f"must be {n} x {n}, one row and column per driver")
        m = np.array(v, dtype=float).reshape(n, n)
        if not np.all(np.isfinite(m)) or not np.allclose(m, m.T, atol=1e-12, rtol=0):
            raise ValueError("must be finite and symmetric")
        if not np.allclose(np.diag(m), 1.0, atol=1e-12, rtol=0) or np.any(np.abs(m) > 1):
            raise ValueError("must have a unit diagonal and entries in [-1, 1]")
        low = float(np.linalg.eigvalsh(m).min())
        if low < -1e-10:
            raise ValueError(f"must be positive semi-definite (smallest eigenvalue {low:.3g})")
        return v


class Uncertainty(_Model):
    """The ``uncertainty:`` block (all parts optional; absent parts are certain)."""

    utilization: CareUtilization = Field(default_factory=CareUtilization)
    unit_cost: UnitCost = Field(default_factory=UnitCost)
    non_cbg: LevelTrend = Field(default_factory=LevelTrend)
    wage: AR1 = Field(default_factory=AR1)
    collection: dict[str, AR1] = Field(default_factory=dict)
    membership: dict[str, AR1] = Field(default_factory=dict)
    shock: Shock = Field(default_factory=Shock)
    investment_yield: AR1 = Field(default_factory=AR1)
    correlation: Correlation | None = None


#: Drivers with yearly innovations (those a correlation may join); the others are levels drawn
#: once per simulation, or the shock process.
YEARLY_DRIVER_PREFIXES = ("utilization.inpatient.trend", "utilization.outpatient.trend",
                          "unit_cost.tariff", "non_cbg.trend", "wage", "collection.",
                          "membership.", "investment_yield")


def driver_names(segments) -> list[str]:
    """Every driver of a config with these segments, in the store's fixed order."""
    return (["utilization.inpatient.level", "utilization.outpatient.level",
             "utilization.inpatient.trend", "utilization.outpatient.trend",
             "unit_cost.inpatient.level", "unit_cost.outpatient.level", "unit_cost.tariff",
             "non_cbg.level", "non_cbg.trend", "wage"]
            + [f"collection.{s}" for s in segments] + [f"membership.{s}" for s in segments]
            + ["shock", "investment_yield"])


def check_uncertainty(u: Uncertainty, segments, quota_segments=("PBI-APBN",)
                      ) -> list[tuple[str, str, Any]]:
    """Problems that need the rest of the config: ``(key path, message, value)``."""
    problems = []
    for part in ("collection", "membership"):
        for seg in getattr(u, part):
            if seg not in segments:
                problems.append((f"uncertainty.{part}.{seg}", "unknown segment", seg))
            elif part == "membership" and seg in quota_segments:
                problems.append((f"uncertainty.{part}.{seg}",
                                 "is a policy quota, not an uncertain assumption", seg))
    if u.correlation is not None:
        known = set(driver_names(segments))
        for i, name in enumerate(u.correlation.drivers):
            path = f"uncertainty.correlation.drivers.{i}"
            if name not in known:
                problems.append((path, "unknown driver", name))
            elif not name.startswith(YEARLY_DRIVER_PREFIXES):
                problems.append((path, "only drivers with yearly innovations can be "
                                 "correlated (trends, tariff, wage, collection, membership, "
                                 "investment yield)", name))
    return problems
