"""The ``fund:`` block of a config: opening net assets, investment yield, other income, rules.

The models here check what a block can check on its own (types, ranges, one trigger per rule);
:func:`check_fund` checks what needs the rest of the config (segment and compartment names, the
benefit cap a rule switches on, references between rules) and returns ``(key path, message,
value)`` problems for ``Config._cross_check``. This module does not import :mod:`jkn_risk.schema`
at import time, so ``schema.py`` may import it at the top.

Rules (``fund.rules``, a list, applied year by year in the order given)
------------------------------------------------------------------------
Every rule has a unique ``name``, a ``type`` and optionally ``after`` (names of rules listed
*before* it: the rule is eligible only once each of them has fired at least once in the same
simulation; a name of a later rule could close a cycle and is an error), ``min_years_between``
(a rule that fired in year ``y`` may fire again in year ``y + k`` at the earliest) and
``max_times``. A trigger ``when`` holds when a balance is strictly below a level:
``{months_of_claims_below: 1.5}`` or ``{net_assets_below: 0}`` (IDR). ``balance`` picks whose
balance: ``total`` (all compartments together, default), ``each`` (each compartment on its own;
benefit caps only) or a compartment name. Types:

``contribution_raise``   multiplies the contributions received from ``segments`` by
                         ``1 + increase`` from the next year on (compounding with later raises).
``government_injection`` pays into each listed compartment at year end, up to ``ceiling`` [IDR
                         per compartment per year; a number or a mapping]: ``covers: shortfall``
                         tops the balance up to the ``when`` level; ``covers: deficit`` pays the
                         year's loss (only when ``when``, if given, holds).
``benefit_cap``          switches the listed compartments' medical cost from uncapped to capped
                         claims (the cap of ``policy.annual_benefit_cap``) from the next year on.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator,
                      model_validator)

from jkn_risk.finance import compartment_labels
from jkn_risk.tables import _NOVALUE

__all__ = ["Fund", "Threshold", "OtherIncome", "ContributionRaise", "GovernmentInjection", "BenefitCap",
           "Rule", "RULE_TYPES", "UNION_TAGS", "TOTAL_BALANCE", "EACH_BALANCE", "check_fund"]

#: Largest amount accepted [IDR]: int64 holds 9.2e18, so sums over years and compartments cannot overflow.
MAX_IDR = 1e17
RULE_TYPES = ("contribution_raise", "government_injection", "benefit_cap")
#: Union branch names pydantic puts in error locations; key paths leave them out.
UNION_TAGS = RULE_TYPES + ("number", "mapping")
TOTAL_BALANCE, EACH_BALANCE = "total", "each"
SHARE_TOL = 1e-9


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Money = Annotated[float, Field(ge=-MAX_IDR, le=MAX_IDR, allow_inf_nan=False)]
NonNegMoney = Annotated[float, Field(ge=0, le=MAX_IDR, allow_inf_nan=False)]
Rate = Annotated[float, Field(gt=-1, le=1, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
RuleName = Annotated[str, Field(min_length=1)]


def _number_or_mapping(number, mapping):
    """``number | mapping``, the branch chosen by the input's type so that an error names one branch only."""
    return Annotated[Annotated[number, Tag("number")] | Annotated[mapping, Tag("mapping")],
                     Discriminator(lambda v: "mapping" if isinstance(v, dict) else "number")]


class Threshold(_Model):
    """A trigger that holds when a balance is strictly below a level (exactly one field)."""

    months_of_claims_below: Annotated[float, Field(ge=0, le=1200, allow_inf_nan=False)] | None = None
    net_assets_below: Money | None = None  # IDR; may be negative ("deficits beyond 10 T")

    @model_validator(mode="after")
    def _one(self):
        if (self.months_of_claims_below is None) == (self.net_assets_below is None):
            raise ValueError("give exactly one of months_of_claims_below, net_assets_below")
        return self


class _Rule(_Model):
    name: RuleName
    after: list[RuleName] = Field(default_factory=list)
    min_years_between: Annotated[int, Field(ge=1, le=1000)] = 1
    max_times: Annotated[int, Field(ge=1)] | None = None


class ContributionRaise(_Rule):
    """Raise the contributions of ``segments`` by ``increase`` (0.1 = +10%) from the next year."""

    type: Literal["contribution_raise"]
    when: Threshold
    balance: str = TOTAL_BALANCE
    segments: Annotated[list[str], Field(min_length=1)]
    increase: Annotated[float, Field(gt=0, le=10)]


class GovernmentInjection(_Rule):
    """Year-end payments by the government into the listed compartments (default: all)."""

    type: Literal["government_injection"]
    covers: Literal["shortfall", "deficit"] = "shortfall"
    when: Threshold | None = None
    ceiling: _number_or_mapping(NonNegMoney, dict[str, NonNegMoney]) | None = None  # IDR per compartment per year
    compartments: list[str] | None = None

    @model_validator(mode="after")
    def _needs_level(self):
        if self.covers == "shortfall" and self.when is None:
            raise ValueError("covers: shortfall needs 'when' (the level to top the balance up to)")
        return self


class BenefitCap(_Rule):
    """Switch the annual benefit cap on in the listed compartments (default: all) from the next year."""

    type: Literal["benefit_cap"]
    when: Threshold
    balance: str = TOTAL_BALANCE
    compartments: list[str] | None = None


Rule = Annotated[ContributionRaise | GovernmentInjection | BenefitCap, Field(discriminator="type")]


class OtherIncome(_Model):
    """Other income [IDR per year] (cigarette tax, capitation surplus; negative: other expense).

    ``amount`` is a step schedule by year (a value holds until the next year given; years before
    the first take the first value); ``shares`` split it between compartments (sum to 1).
    """

    amount: Annotated[dict[int, Money], Field(min_length=1)]
    shares: dict[str, Share] | None = None

    @field_validator("shares")
    @classmethod
    def _sum_to_one(cls, v):
        if v is not None and abs(sum(v.values()) - 1.0) > SHARE_TOL:
            raise ValueError(f"shares must sum to 1 (sum is {sum(v.values()):.12g})")
        return v


class Fund(_Model):
    """The fund's balance sheet roll-forward (see :mod:`jkn_risk.fund`).

    ``opening_net_assets`` [IDR] holds at 1 January of the first projected year: a number for a
    pooled fund, a mapping compartment -> IDR for a compartmentalised one. ``investment_yield``
    (annual rate on the average balance; a number or a step schedule by year) and
    ``negative_balance_rate`` (rate charged on a negative average balance; default: the yield).
    """

    opening_net_assets: _number_or_mapping(Money, dict[str, Money])
    investment_yield: _number_or_mapping(Rate, Annotated[dict[int, Rate], Field(min_length=1)]) = 0.0
    negative_balance_rate: Rate | None = None
    other_income: OtherIncome | None = None
    rules: list[Rule] = Field(default_factory=list)


# --------------------------------------------------------------------------- cross-checks
def _novalue():
    return _NOVALUE


def _rule_cycle(names: list[str], after: list[list[str]], start: int) -> list[str] | None:
    """A path start -> ... -> start through ``after`` references, or None."""
    index = {n: i for i, n in enumerate(names)}
    stack, seen = [(start, [names[start]])], set()
    while stack:
        i, path = stack.pop()
        for ref in after[i]:
            j = index.get(ref)
            if j is None:
                continue
            if j == start:
                return path + [names[start]]
            if j not in seen:
                seen.add(j)
                stack.append((j, path + [names[j]]))
    return None


def check_fund(fund: Fund, segments, regions, compartments: str,
               has_benefit_cap: bool | None = None) -> list[tuple[str, str, Any]]:
    """Problems of a ``fund:`` block that need the rest of the config.

    Parameters
    ----------
    fund : Fund
    segments, regions : sequence of str
        ``Config.segments`` and ``Config.regions``.
    compartments : str
        The compartment scheme, ``policy.compartments`` (``pooled``, ``segment``, ...); the
        compartment names are those of :func:`jkn_risk.finance.compartment_labels`.
    has_benefit_cap : bool, optional
        Whether ``policy.annual_benefit_cap`` is set (a ``benefit_cap`` rule needs it); None skips.

    Returns
    -------
    list of (path, message, value)
        Paths start with ``fund.``; empty when the block is consistent.
    """
    none = _novalue()
    problems: list[tuple[str, str, Any]] = []
    comps = compartment_labels(compartments, regions, segments)
    comp_set, seg_set = set(comps), set(segments)

    def unknown(path, items, allowed, what):
        for j, item in enumerate(items):
            if item not in allowed:
                problems.append((f"{path}.{j}", f"unknown {what}", item))

    def mapping(path, keys, what, need_all=True):
        for k in keys:
            if k not in comp_set:
                problems.append((f"{path}.{k}", "unknown compartment", k))
        for c in comps if need_all else ():
            if c not in keys:
                problems.append((f"{path}.{c}", f"missing {what} for compartment", none))

    opening = fund.opening_net_assets
    if isinstance(opening, dict):
        mapping("fund.opening_net_assets", opening, "opening balance")
    elif len(comps) > 1:
        problems.append(("fund.opening_net_assets", f"compartments '{compartments}' need a mapping "
                         f"compartment -> IDR ({', '.join(comps)})", opening))
    oi = fund.other_income
    if oi is not None and oi.shares is not None:
        mapping("fund.other_income.shares", oi.shares, "share")
    elif oi is not None and len(comps) > 1:
        problems.append(("fund.other_income.shares", "compartments need shares of other income", none))

    names = [r.name for r in fund.rules]
    afters = [list(r.after) for r in fund.rules]
    first_of = {}
    for i, name in enumerate(names):
        if name in first_of:
            problems.append((f"fund.rules.{i}.name", "duplicate rule name", name))
        first_of.setdefault(name, i)
    reported_cycle = set()
    for i, rule in enumerate(fund.rules):
        p = f"fund.rules.{i}"
        for j, ref in enumerate(rule.after):
            if ref not in first_of:
                problems.append((f"{p}.after.{j}", "unknown rule", ref))
            elif first_of[ref] >= i:
                cycle = _rule_cycle(names, afters, i)
                if cycle is not None:
                    if frozenset(cycle) not in reported_cycle:
                        reported_cycle.add(frozenset(cycle))
                        problems.append((f"{p}.after.{j}", "rule cycle: " + " -> ".join(cycle), ref))
                else:
                    problems.append((f"{p}.after.{j}", "must name a rule listed before this one "
                                     "(rules apply in config order)", ref))
        balance = getattr(rule, "balance", TOTAL_BALANCE)
        if balance not in (TOTAL_BALANCE, EACH_BALANCE) and balance not in comp_set:
            problems.append((f"{p}.balance", f"unknown compartment (or '{TOTAL_BALANCE}'"
                             + (f", '{EACH_BALANCE}')" if rule.type == "benefit_cap" else ")"), balance))
        if balance == EACH_BALANCE and rule.type == "contribution_raise":
            problems.append((f"{p}.balance", "a contribution raise is national: use 'total' or a "
                             "compartment", balance))
        if rule.type == "contribution_raise":
            unknown(f"{p}.segments", rule.segments, seg_set, "segment")
        else:
            unknown(f"{p}.compartments", rule.compartments or [], comp_set, "compartment")
        if rule.type == "government_injection" and isinstance(rule.ceiling, dict):
            mapping(f"{p}.ceiling", rule.ceiling, "ceiling", need_all=False)
            for c in rule.compartments or comps:
                if c in comp_set and c not in rule.ceiling:
                    problems.append((f"{p}.ceiling.{c}", "missing ceiling for compartment", none))
        if rule.type == "benefit_cap" and has_benefit_cap is False:
            problems.append((f"{p}.type", "a benefit_cap rule needs policy.annual_benefit_cap "
                             "(the cap it switches on)", rule.type))
    return problems
