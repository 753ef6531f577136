"""The configuration schema: pydantic models (extra="forbid", frozen) with their constraints.

Everything the engine needs is described in one YAML file (optionally extending another).
Validation happens here and only here: the models carry ranges, shares that must sum to one,
known region and segment names and years in order; CSV tables are read and checked once,
with errors that name the file, row and column. Downstream modules trust what they receive.

Conventions used throughout the schema
--------------------------------------
* Rates of utilisation are *cases per 1,000 member-months*, as the seed paper reports them.
* Money is IDR. Per-member amounts are *per member per month* (pmpm) unless named otherwise.
* A *schedule* maps an effective date to a value that holds until the next date: keys are a
  year (``2016``) or a month (``"2019-08"``); the annual value is the average over the 12
  months. A *trend* maps a year to a growth rate in that year; the index compounds from the
  base year (index 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr,
                      field_validator, model_validator)

from jkn_risk.codes import resolve_methods
from jkn_risk.schema_fund import Fund, check_fund
from jkn_risk.schema_uncertainty import Uncertainty, check_uncertainty
from jkn_risk.tables import _NOVALUE, ConfigTables

__all__ = ["Config", "ConfigError", "CARE_TYPES", "schedule_annual", "trend_index", "BootstrapIBNR",
           "Shock"]

CARE_TYPES = ("inpatient", "outpatient")
SHARE_TOL = 1e-9



class ConfigError(Exception):
    """One or more problems in a configuration, each ``(path, message, value)``."""

    def __init__(self, problems: list[tuple[str, str, Any]]):
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for path, msg, value in self.problems:
            got = "" if value is _NOVALUE else f" (got {_short(value)})"
            out.append(f"{path}: {msg}{got}")
        return out


def _short(value: Any) -> str:
    if isinstance(value, np.generic):  # -113138.0, not np.float64(-113138.0)
        value = value.item()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------- base models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Positive = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
YearKey = int | str
Schedule = dict[YearKey, NonNeg]
Trend = dict[int, Annotated[float, Field(gt=-1)]]


def _check_shares(shares: dict[str, float], what: str, values: dict | None = None,
                  value_name: str = "") -> dict[str, float]:
    """Shares must sum to 1; with ``values``, every share's key must have a value there."""
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOL:
        raise ValueError(f"{what} must sum to 1 (sum is {total:.12g})")
    missing = set(shares) - set(values) if values is not None else set()
    if missing:
        raise ValueError(f"no {value_name} for {sorted(missing)} in {what}")
    return shares


def _parse_date_key(key: YearKey) -> tuple[int, int]:
    """A schedule key as (year, month): ``2016`` -> (2016, 1), ``"2019-08"`` -> (2019, 8)."""
    if isinstance(key, int):
        return key, 1
    text = str(key).strip()
    try:
        if len(text) == 4:
            return int(text), 1
        year, month = text.split("-")
        y, m = int(year), int(month)
    except ValueError:
        raise ValueError(f"schedule key {key!r} is not a year or YYYY-MM") from None
    if not 1 <= m <= 12:
        raise ValueError(f"schedule key {key!r} has month outside 1..12")
    return y, m


def schedule_annual(schedule: dict, years: list[int]) -> list[float]:
    """Annual averages of a step schedule over ``years``.

    Parameters
    ----------
    schedule : dict
        ``{year or "YYYY-MM": value}``; each value holds from its date until the next one.
    years : list of int
        Projection years.

    Returns
    -------
    list of float, one per year: the mean of the 12 monthly values.
    """
    points = sorted((_parse_date_key(k), float(v)) for k, v in schedule.items())
    out = []
    for y in years:
        months = []
        for m in range(1, 13):
            current = None
            for (py, pm), v in points:
                if (py, pm) <= (y, m):
                    current = v
            months.append(current)
        if any(v is None for v in months):
            months = [v if v is not None else points[0][1] for v in months]
        out.append(sum(months) / 12.0)
    return out


def trend_index(trend: dict[int, float], years: list[int], base_year: int) -> list[float]:
    """Cumulative index from yearly growth rates: 1 in the base year, compounding after."""
    idx, out = 1.0, []
    for y in years:
        if y > base_year:
            idx *= 1.0 + float(trend.get(y, 0.0))
        out.append(idx)
    return out


def _validate_schedule(value: dict) -> dict:
    if not value:
        raise ValueError("schedule needs at least one date")
    for key in value:
        _parse_date_key(key)
    return value


# --------------------------------------------------------------------------- sections
class Membership(_Model):
    """Average members (member-years) per year x segment x region.

    Either ``table`` (CSV ``year,segment,region,members`` covering every cell), or ``base``
    (CSV ``segment,region,members`` for the base year) with ``totals`` per later year; the
    base year's segment x region shares are kept unless ``segment_shares`` gives a year's
    shares by segment (regional split within a segment kept).
    """

    table: str | None = None
    base: str | None = None
    totals: dict[int, Positive] = Field(default_factory=dict)
    segment_shares: dict[int, dict[str, Share]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.table is None) == (self.base is None):
            raise ValueError("give exactly one of 'table' or 'base'")
        if self.table is not None and (self.totals or self.segment_shares):
            raise ValueError("'totals' and 'segment_shares' go with 'base', not 'table'")
        for year, shares in self.segment_shares.items():
            _check_shares(shares, f"segment_shares for {year}")
        return self


class BootstrapIBNR(_Model):
    """IBNR completion factor from an ODP bootstrap of a claim-count triangle."""

    method: Literal["bootstrap"]
    triangle: str
    n_boot: Annotated[int, Field(ge=10, le=10_000_000)] = 10_000
    process: Literal["gamma", "odp", "none"] = "gamma"
    hat_adj: bool = True
    origins: list[str] | None = None  # default: origins in the base year


class CareUtilization(_Model):
    """Utilisation of one care type (FKRTL inpatient or outpatient)."""

    rate: dict[str, NonNeg]  # cases per 1,000 member-months, as reported, by region
    ibnr: Annotated[float, Field(ge=1, le=10)] | BootstrapIBNR = 1.0
    trend: Trend = Field(default_factory=dict)
    segment_relativity: dict[str, Positive] = Field(default_factory=dict)


class Utilization(_Model):
    inpatient: CareUtilization
    outpatient: CareUtilization


class HospitalClass(_Model):
    """Mix of hospital classes (A, B, C, D ...) and their tariff relativities."""

    shares: dict[str, Share] = Field(default_factory=lambda: {"C": 1.0})
    relativity: dict[str, Positive] = Field(default_factory=lambda: {"C": 1.0})

    @model_validator(mode="after")
    def _check(self):
        _check_shares(self.shares, "hospital class shares", self.relativity, "relativity")
        return self


class CareClass(_Model):
    """Inpatient care classes (III, II, I): tariff relativities and shares by segment."""

    relativity: dict[str, Positive] = Field(default_factory=lambda: {"III": 1.0, "II": 1.2, "I": 1.4})
    shares: dict[str, dict[str, Share]] = Field(default_factory=dict)  # segment -> class -> share

    @model_validator(mode="after")
    def _check(self):
        for seg, sh in self.shares.items():
            _check_shares(sh, f"care class shares of {seg}", self.relativity, "relativity")
        return self


class CaseMix(_Model):
    """INA-CBG case mix and tariffs.

    ``table`` is a CSV ``region,care,code,probability,tariff`` (tariff in IDR, class III).
    The hospital-class and care-class relativities are rebased to the base year's experience
    mix, so that the base year's mean cost per case equals the table's mean (the paid average
    the table is calibrated to) and the relativities only redistribute cost across classes.
    """

    table: str
    hospital_class: HospitalClass = Field(default_factory=HospitalClass)
    care_class: CareClass = Field(default_factory=CareClass)
    tariff_index: Trend = Field(default_factory=dict)
    tariff_level: Positive = 1.0  # base-year tariffs relative to the table (e.g. later tariff rounds)
    cost_noise_sigma: Annotated[float, Field(ge=0, le=3)] = 0.0
    segment_cost_relativity: dict[str, Positive] = Field(default_factory=dict)


class NonCBG(_Model):
    """Non-CBG costs in IDR per member per month, by segment (schedules by date).

    ``capitation`` pays primary care (FKTP), ``non_capitation`` FKTP fee-for-service items,
    ``other`` non-CBG hospital items. Each grows with ``index`` (default: the CBG tariff
    index, as in the seed paper).
    """

    capitation: dict[str, Schedule]
    non_capitation: dict[str, Schedule]
    other: dict[str, Schedule]
    index: Literal["tariff_index", "none"] = "tariff_index"

    @field_validator("capitation", "non_capitation", "other")
    @classmethod
    def _schedules(cls, v):
        for sched in v.values():
            _validate_schedule(sched)
        return v


class FixedContribution(_Model):
    """A fixed contribution per member per month (PBI: paid by the central or regional budget)."""

    type: Literal["fixed"]
    pmpm: Schedule
    collection: Schedule = Field(default_factory=lambda: {2014: 1.0})

    _v = field_validator("pmpm", "collection")(classmethod(lambda cls, v: _validate_schedule(v)))


class WageContribution(_Model):
    """Percent of wage (PPU): ``rate`` of the wage up to a cap, split employer/employee.

    Wages per worker are lognormal with mean ``wage_mean`` (IDR/month in the base year,
    growing by ``wage_growth``) and coefficient of variation ``wage_cv``; the contributory wage
    is ``min(wage, wage_cap)``. Each worker's contribution covers ``members_per_worker`` lives.
    """

    type: Literal["wage"]
    rate: Schedule
    employer_share: Schedule
    wage_mean: Positive
    wage_cv: Annotated[float, Field(ge=0, le=5)] = 0.0
    wage_growth: Trend = Field(default_factory=dict)
    wage_cap: Schedule | None = None
    members_per_worker: Annotated[float, Field(ge=1, le=10)] = 1.0
    collection: Schedule = Field(default_factory=lambda: {2014: 1.0})

    _v = field_validator("rate", "employer_share", "collection")(
        classmethod(lambda cls, v: _validate_schedule(v)))


class ClassContribution(_Model):
    """Chosen care class x class premium (PBPU, BP), with a collection rate."""

    type: Literal["class"]
    premium: dict[str, Schedule]  # class -> schedule of IDR pmpm
    class_shares: dict[str, Share]
    collection: Schedule = Field(default_factory=lambda: {2014: 1.0})

    @model_validator(mode="after")
    def _check(self):
        _check_shares(self.class_shares, "class_shares", self.premium, "premium")
        for sched in [*self.premium.values(), self.collection]:
            _validate_schedule(sched)
        return self


Contribution = Annotated[FixedContribution | WageContribution | ClassContribution,
                         Field(discriminator="type")]


class Administration(_Model):
    share_of_contributions: Schedule = Field(default_factory=lambda: {2014: 0.0625})

    @field_validator("share_of_contributions")
    @classmethod
    def _check(cls, v):
        _validate_schedule(v)
        if any(x > 1 for x in v.values()):
            raise ValueError("administration share must be at most 1")
        return v


class Policy(_Model):
    """Policy levers of seed 000. Defaults are neutral (today's JKN)."""

    annual_benefit_cap: Annotated[float, Field(gt=0)] | None = None  # IDR per member-year, CBG
    # care types whose INA-CBG claims count towards the cap; each is capped per member per year
    # separately (inpatient and outpatient are simulated as separate cells)
    cap_applies_to: list[Literal["inpatient", "outpatient"]] = Field(
        default_factory=lambda: ["inpatient", "outpatient"])
    standard_class: bool = False  # everyone at class III relativity
    compartments: Literal["pooled", "segment", "region", "segment_region"] = "pooled"
    regional_government_deficit_share: Share = 0.0
    humanitarian_fund_share: Share = 0.0  # share of unpaid class-III PBPU contributions paid


class Simulation(_Model):
    n_sims: Annotated[int, Field(ge=1, le=100_000_000)] = 1000
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 20140101
    block_size: Annotated[int, Field(ge=1)] | None = None
    frequency: Literal["poisson", "negative_binomial"] = "poisson"
    dispersion: NonNeg = 0.0
    method: Literal["auto", "individual", "collective"] = "auto"

    @model_validator(mode="after")
    def _check(self):
        if self.frequency == "negative_binomial" and self.dispersion <= 0:
            raise ValueError("negative_binomial needs dispersion > 0")
        return self


SHOCK_TARGETS = ("utilization", "tariff", "non_cbg", "contribution", "collection", "members",
                 "administration")


class Shock(_Model):
    """A named change applied to the parameters after they are built.

    ``target`` names the parameter; ``care``, ``regions`` and ``segments`` select cells (all
    when omitted; not every target has every dimension); ``from``/``to`` bound the dates
    (a year or ``"YYYY-MM"``; a shock starting mid-year applies to that year's remaining
    months); exactly one of ``multiply``, ``add``, ``set``.
    """

    name: str = ""
    target: Literal[SHOCK_TARGETS]  # type: ignore[valid-type]
    care: list[Literal["inpatient", "outpatient"]] | None = None
    regions: list[str] | None = None
    segments: list[str] | None = None
    from_: YearKey | None = Field(default=None, alias="from")
    to: int | None = None
    multiply: float | None = None
    add: float | None = None
    set: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_op(self):
        ops = [k for k in ("multiply", "add", "set") if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError("give exactly one of multiply, add, set")
        if self.from_ is not None:
            _parse_date_key(self.from_)
        no_region = self.target in ("contribution", "collection", "administration")
        if no_region and self.regions is not None:
            raise ValueError(f"target '{self.target}' has no region dimension")
        if self.target not in ("utilization", "tariff") and self.care is not None:
            raise ValueError(f"target '{self.target}' has no care dimension")
        if self.target == "administration" and self.segments is not None:
            raise ValueError("target 'administration' has no segment dimension")
        return self


# --------------------------------------------------------------------------- the config
class Config(_Model):
    """A complete, validated jkn_risk configuration (frozen)."""

    name: str = "unnamed"
    description: str = ""
    base_year: int
    years: list[int]
    regions: list[str]
    segments: list[str]
    membership: Membership
    utilization: Utilization
    case_mix: CaseMix
    non_cbg: NonCBG
    contributions: dict[str, Contribution]
    administration: Administration = Field(default_factory=Administration)
    policy: Policy = Field(default_factory=Policy)
    simulation: Simulation = Field(default_factory=Simulation)
    shocks: list[Shock] = Field(default_factory=list)
    uncertainty: Uncertainty | None = None
    fund: Fund | None = None
    # CSV ``year,region,population`` [persons, mid-year]: active coverage is reported when given
    population: str | None = None
    # True: segment relativities of utilisation and cost are rebased so that the base year's
    # member- (event-) weighted average per region is 1 (the regional rates and mean costs are
    # then all-segment averages). False: relativities multiply the regional values as given.
    rebase_segment_relativities: bool = True

    _tables: ConfigTables | None = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _cross_check(self):
        problems: list[tuple[str, str, Any]] = []
        y = self.years
        if not y or any(b != a + 1 for a, b in zip(y, y[1:])):
            problems.append(("years", "must be consecutive and increasing", y))
        if self.base_year not in y:
            problems.append(("base_year", "must be one of the years", self.base_year))
        elif y and y[0] != self.base_year:
            problems.append(("base_year", "must be the first projection year", self.base_year))
        for what, names in (("regions", self.regions), ("segments", self.segments)):
            if len(set(names)) != len(names) or not names:
                problems.append((what, "must be a non-empty list of unique names", names))
        regions, segments = set(self.regions), set(self.segments)

        def names(path, keys, allowed, what):
            for k in keys:
                if k not in allowed:
                    problems.append((f"{path}.{k}", f"unknown {what}", k))

        def years_in(path, keys):
            # growth rates and totals before the base year mean nothing; years after the last
            # projection year are allowed (and ignored) so that a config can extend another
            # with a shorter horizon
            for k in keys:
                yr = _parse_date_key(k)[0] if not isinstance(k, int) else k
                if yr <= y[0]:
                    problems.append((f"{path}.{k}", "year must be after the base year", k))

        for care in CARE_TYPES:
            cu: CareUtilization = getattr(self.utilization, care)
            p = f"utilization.{care}"
            names(f"{p}.rate", cu.rate, regions, "region")
            for r in self.regions:
                if r not in cu.rate:
                    problems.append((f"{p}.rate.{r}", "missing rate for region", _NOVALUE))
            names(f"{p}.segment_relativity", cu.segment_relativity, segments, "segment")
            years_in(f"{p}.trend", cu.trend)
            if isinstance(cu.ibnr, BootstrapIBNR) and not Path(cu.ibnr.triangle).exists():
                problems.append((f"{p}.ibnr.triangle", "file not found", cu.ibnr.triangle))
        names("case_mix.segment_cost_relativity", self.case_mix.segment_cost_relativity,
              segments, "segment")
        names("case_mix.care_class.shares", self.case_mix.care_class.shares, segments, "segment")
        years_in("case_mix.tariff_index", self.case_mix.tariff_index)
        for item in ("capitation", "non_capitation", "other"):
            table = getattr(self.non_cbg, item)
            names(f"non_cbg.{item}", table, segments, "segment")
            for s in self.segments:
                if s not in table:
                    problems.append((f"non_cbg.{item}.{s}", "missing segment", _NOVALUE))
        names("contributions", self.contributions, segments, "segment")
        for s in self.segments:
            if s not in self.contributions:
                problems.append((f"contributions.{s}", "missing segment", _NOVALUE))
        capped = tuple(c in self.policy.cap_applies_to and self.policy.annual_benefit_cap
                       is not None for c in CARE_TYPES)
        try:
            resolve_methods(self.simulation.method, capped)
        except ValueError as exc:
            problems.append(("simulation.method", str(exc), self.simulation.method))
        for i, shock in enumerate(self.shocks):
            names(f"shocks.{i}.regions", shock.regions or [], regions, "region")
            names(f"shocks.{i}.segments", shock.segments or [], segments, "segment")
        if self.uncertainty is not None:
            problems.extend(check_uncertainty(self.uncertainty, self.segments))
        if self.fund is not None:
            problems.extend(check_fund(self.fund, self.segments, self.regions,
                                       self.policy.compartments,
                                       self.policy.annual_benefit_cap is not None))
        m = self.membership
        years_in("membership.totals", m.totals)
        for year, sh in m.segment_shares.items():
            names(f"membership.segment_shares.{year}", sh, segments, "segment")
        if m.base is not None:
            for yr in y[1:]:
                if yr not in m.totals:
                    problems.append((f"membership.totals.{yr}", "missing year", _NOVALUE))
        if problems:
            raise ConfigError(problems)
        return self

    @property
    def tables(self) -> ConfigTables:
        """The CSV tables named by the config, read and validated at load time."""
        if self._tables is None:
            raise RuntimeError("config was built without load_config: tables not loaded")
        return self._tables

    @property
    def source(self) -> str:
        """The resolved config as YAML text (after ``extends:`` and overrides)."""
        return self._source

    @property
    def care_types(self) -> tuple[str, ...]:
        return CARE_TYPES


