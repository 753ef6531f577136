"""The fund's balance year by year within each simulation: net assets, injections, management actions.

For compartment ``c`` of simulation ``i`` in projection year ``y`` (all amounts IDR)::

    net_assets[y] = net_assets[y-1] + contributions - medical_cost - admin_cost
                    + regional_government_share + other_income + investment_income + injection

with ``net_assets[-1]`` the opening net assets at 1 January of the first projected year.

* **Exact money.** Each year's flows are rounded to whole rupiah per cell (region x segment)
  and summed into compartments in int64, so ``net_assets = opening + cumulative flows`` holds
  exactly and no bit depends on how simulations are split into blocks (every operation is per
  simulation). With the same opening and other income in total, and rules that act alike on the
  pooled fund and on its compartments, compartments add up to the pooled fund exactly, but for
  investment income, rounded per compartment (at most half a rupiah per compartment and year).
  Rules that read a balance (an injection, a trigger that holds in one and not the other) are
  not additive: a pooled fund's surplus in one pocket covers a deficit in another.
* **Contributions** are the cells' contributions received times the segment's contribution
  multiplier (1 until a raise fires; a raise changes no membership or collection rate).
  ``admin_cost = admin_share[y] x contributions`` per cell, as in :mod:`jkn_risk.finance`.
* **Medical cost** is a cell's claims + non-CBG cost: the uncapped series, or the capped one
  from the year after a ``benefit_cap`` rule switched the cell's compartment on.
* **Regional governments** pay ``share`` x each region's deficit, recomputed every year from the
  flows above (:func:`jkn_risk.finance._regional_payment`), so a raise or a cap changes it.
* **Investment income** is ``rate x average balance`` with ``average balance = opening + half the
  year's net flow before investment income and injections``: operating flows arrive evenly over
  the year, injections at its end (after the audit), and no income is earned on income (no
  circularity). ``rate`` is the yield path of the simulation (an input, so that an uncertain yield
  driver can replace the configured schedule), or ``negative_balance_rate`` where that is set and
  the average balance is negative.
* **Months of claims** ``= 12 x net assets at year end / medical cost of that same year`` per
  compartment (BPJS's 2024 figure: 49.52 T / (174.9 T / 12) = 3.40 months); NaN where the year's
  medical cost is zero.

Rules (:mod:`jkn_risk.schema_fund`) are applied at each year end in config order, after the
year's flows and investment income; each sees the balance left by the rules before it. A raise or
a cap that fires in year ``y`` acts from year ``y + 1``; an injection is paid in year ``y``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jkn_risk.finance import _regional_payment, compartment_labels, compartment_matrix
from jkn_risk.schema_fund import EACH_BALANCE, TOTAL_BALANCE, Fund

__all__ = ["FundSpec", "RuleSpec", "build_fund_spec", "roll_forward", "months_of_claims",
           "RAISE", "INJECTION", "CAP"]

RAISE, INJECTION, CAP = 0, 1, 2
_KIND = {"contribution_raise": RAISE, "government_injection": INJECTION, "benefit_cap": CAP}
MONTHS, NET_ASSETS, ALWAYS = 0, 1, 2          # trigger measure
BAL_TOTAL, BAL_EACH = -1, -2                   # balance a trigger reads (>= 0: a compartment)
SHORTFALL, DEFICIT = 0, 1                      # what an injection covers
NO_CEILING = -1
_NEVER = -(2**40)                              # "last fired" before any year

_FLOWS = ("fund_contributions", "fund_medical_cost", "fund_admin_cost", "fund_regional_government_share",
          "fund_other_income", "investment_income", "injection")


@dataclass(frozen=True)
class RuleSpec:
    """One management rule as codes and arrays (see :mod:`jkn_risk.schema_fund`).

    kind : RAISE, INJECTION or CAP
    measure, threshold : MONTHS [month] or NET_ASSETS [IDR] and the level the balance must be
        strictly below; ALWAYS for an injection of the year's deficit without a trigger
    balance : BAL_TOTAL, BAL_EACH or a compartment index
    segments : ndarray(bool, (S,)) raised segments (RAISE)
    increase : relative raise (RAISE)
    compartments : ndarray(bool, (C,)) compartments acted on (INJECTION, CAP)
    ceiling : ndarray(int64, (C,)) [IDR per year], NO_CEILING where unlimited (INJECTION)
    covers : SHORTFALL or DEFICIT (INJECTION)
    min_years_between, max_times : firing limits
    after : indices of the rules that must have fired first (all lower than this rule's)
    """

    name: str
    kind: int
    measure: int
    threshold: float
    balance: int
    segments: np.ndarray
    increase: float
    compartments: np.ndarray
    ceiling: np.ndarray
    covers: int
    min_years_between: int
    max_times: int
    after: tuple[int, ...]


@dataclass(frozen=True)
class FundSpec:
    """Everything the roll-forward needs, built once per run by :func:`build_fund_spec`.

    years, segments, regions, compartments : labels (Y, S, R, C)
    cell_compartment : ndarray(int64, (R, S)) compartment of each cell
    cell_to_compartment : ndarray(int64, (R * S, C)) 0/1 membership, cells in (region, segment) order
    opening : ndarray(int64, (C,)) [IDR] net assets at 1 January of the first year
    investment_yield : ndarray(float64, (Y,)) [1/year] the configured yield schedule
    negative_balance_rate : float or None [1/year]
    other_income : ndarray(int64, (Y, C)) [IDR]
    admin_share : ndarray(float64, (Y,)) administration cost / contributions received
    regional_government_share : float, share of each region's deficit paid by its government
    rules : tuple of RuleSpec, in config order
    """

    years: tuple[int, ...]
    segments: tuple[str, ...]
    regions: tuple[str, ...]
    compartments: tuple[str, ...]
    cell_compartment: np.ndarray
    cell_to_compartment: np.ndarray
    opening: np.ndarray
    investment_yield: np.ndarray
    negative_balance_rate: float | None
    other_income: np.ndarray
    admin_share: np.ndarray
    regional_government_share: float
    rules: tuple[RuleSpec, ...]

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)


def _frozen(a, dtype) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a


def _year_schedule(value, years) -> np.ndarray:
    """A number, or a step schedule ``{year: value}`` (years before the first key take its value)."""
    if not isinstance(value, dict):
        return np.full(len(years), float(value))
    points = sorted(value.items())
    return np.array([next((v for k, v in reversed(points) if k <= y), points[0][1]) for y in years],
                    dtype=np.float64)


def _apportion(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer parts of ``total`` by ``shares`` that sum to ``total`` exactly (largest remainder)."""
    raw = total * shares
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


def build_fund_spec(fund: Fund, years, segments, compartments: str, regions, *, admin_share,
                    regional_government_share: float = 0.0) -> FundSpec:
    """Build the arrays of a validated ``fund:`` block once per run.

    Parameters
    ----------
    fund : Fund
        Validated (``check_fund`` found no problem).
    years, segments, regions : sequence
        Projection years and the config's segment and region names.
    compartments : str
        The scheme, ``policy.compartments``.
    admin_share : array_like(float64, (Y,))
        ``Parameters.admin_share``.
    regional_government_share : float
        ``Parameters.regional_government_share``.

    Returns
    -------
    FundSpec
    """
    years, segments, regions = tuple(int(y) for y in years), tuple(segments), tuple(regions)
    comps = tuple(compartment_labels(compartments, regions, segments))
    cidx = {c: i for i, c in enumerate(comps)}
    member = compartment_matrix(compartments, regions, segments)          # (C, R, S) 0/1
    cell = member.argmax(axis=0)
    onehot = member.reshape(len(comps), -1).T

    op = fund.opening_net_assets
    opening = [op[c] for c in comps] if isinstance(op, dict) else [op]
    other = np.zeros((len(years), len(comps)), dtype=np.int64)
    if fund.other_income is not None:
        shares = np.array([fund.other_income.shares[c] for c in comps] if fund.other_income.shares
                          else [1.0])
        for y, amount in enumerate(_year_schedule(fund.other_income.amount, years)):
            other[y] = _apportion(int(np.rint(amount)), shares)

    def mask(names, labels):
        idx = {n: i for i, n in enumerate(labels)}
        m = np.zeros(len(labels), dtype=bool)
        m[[idx[n] for n in names]] = True
        return _frozen(m, bool)

    names = [r.name for r in fund.rules]
    rules = []
    for r in fund.rules:
        when = getattr(r, "when", None)
        measure, threshold = ((ALWAYS, 0.0) if when is None else
                              (MONTHS, when.months_of_claims_below) if when.months_of_claims_below is not None
                              else (NET_ASSETS, when.net_assets_below))
        b = getattr(r, "balance", EACH_BALANCE if r.type == "government_injection" else TOTAL_BALANCE)
        balance = {TOTAL_BALANCE: BAL_TOTAL, EACH_BALANCE: BAL_EACH}.get(b, cidx.get(b))
        listed = getattr(r, "compartments", None) or comps
        c = getattr(r, "ceiling", None)
        if isinstance(c, dict):
            ceiling = [np.rint(c[k]) if k in c else NO_CEILING for k in comps]
        else:
            ceiling = [NO_CEILING if c is None else np.rint(c)] * len(comps)
        rules.append(RuleSpec(
            name=r.name, kind=_KIND[r.type], measure=measure, threshold=float(threshold), balance=balance,
            segments=mask(getattr(r, "segments", []), segments), increase=float(getattr(r, "increase", 0.0)),
            compartments=mask(listed, comps), ceiling=_frozen(ceiling, np.int64),
            covers=DEFICIT if getattr(r, "covers", "") == "deficit" else SHORTFALL,
            min_years_between=r.min_years_between, max_times=r.max_times or 2**62,
            after=tuple(names.index(a) for a in r.after)))
    return FundSpec(
        years=years, segments=segments, regions=regions, compartments=comps,
        cell_compartment=_frozen(cell, np.int64), cell_to_compartment=_frozen(onehot, np.int64),
        opening=_frozen(np.rint(opening), np.int64),
        investment_yield=_frozen(_year_schedule(fund.investment_yield, years), np.float64),
        negative_balance_rate=fund.negative_balance_rate, other_income=_frozen(other, np.int64),
        admin_share=_frozen(np.broadcast_to(np.asarray(admin_share, dtype=np.float64), (len(years),)), np.float64),
        regional_government_share=float(regional_government_share), rules=tuple(rules))


def months_of_claims(net_assets: np.ndarray, medical_cost: np.ndarray) -> np.ndarray:
    """``12 x net_assets / medical_cost`` [month], NaN where the medical cost is zero.

    Parameters
    ----------
    net_assets : ndarray (...) [IDR] at year end
    medical_cost : ndarray (...) [IDR] of the same year
    """
    med = np.asarray(medical_cost, dtype=np.float64)
    out = np.full(np.broadcast_shapes(np.shape(net_assets), med.shape), np.nan)
    np.divide(12.0 * np.asarray(net_assets, dtype=np.float64), med, out=out, where=med != 0)
    return out


def _cells_to_compartments(spec: FundSpec, x: np.ndarray) -> np.ndarray:
    """Sum whole-rupiah cell amounts (n, R, S) into compartments (n, C), exactly in int64."""
    return np.rint(x).astype(np.int64).reshape(x.shape[0], -1) @ spec.cell_to_compartment


def _year_flows(spec: FundSpec, y: int, income, med_uncapped, med_capped, mult, cap) -> dict:
    """The year's operating flows per compartment, int64 (n, C) [IDR]."""
    inc = np.rint(income * mult[:, None, :])
    adm = np.rint(spec.admin_share[y] * inc)
    med = np.rint(np.where(cap[:, spec.cell_compartment], med_capped, med_uncapped))
    flows = {"fund_contributions": inc, "fund_admin_cost": adm, "fund_medical_cost": med}
    if spec.regional_government_share > 0:
        flows["fund_regional_government_share"] = np.rint(
            _regional_payment(inc - med - adm, spec.regional_government_share))
    out = {k: _cells_to_compartments(spec, v) for k, v in flows.items()}
    out.setdefault("fund_regional_government_share", np.zeros_like(out["fund_contributions"]))
    return out


def _measure(rule: RuleSpec, closing: np.ndarray, medical: np.ndarray) -> np.ndarray:
    """The balance a trigger reads: (n,) for a total or one compartment, (n, C) for each."""
    if rule.balance == BAL_TOTAL:
        a, m = closing.sum(axis=1), medical.sum(axis=1)
    elif rule.balance == BAL_EACH:
        a, m = closing, medical
    else:
        a, m = closing[:, rule.balance], medical[:, rule.balance]
    return a.astype(np.float64) if rule.measure == NET_ASSETS else months_of_claims(a, m)


def _injection(rule: RuleSpec, holds, eligible, closing, medical, year_result, paid) -> np.ndarray:
    """Year-end payment of an injection rule per compartment, int64 (n, C) [IDR]."""
    if rule.covers == SHORTFALL:
        level = rule.threshold if rule.measure == NET_ASSETS else rule.threshold * medical / 12.0
        need = np.ceil(level - closing)  # whole rupiah that bring the balance to the level at least
    else:
        need = -(year_result + paid).astype(np.float64)  # the year's loss not yet covered
    need = np.where(holds & eligible[:, None] & rule.compartments, np.maximum(need, 0.0), 0.0)
    need = need.astype(np.int64)
    return np.where(rule.ceiling >= 0, np.minimum(need, rule.ceiling), need)


def roll_forward(spec: FundSpec, income, medical_uncapped, medical_capped=None,
                 investment_yield=None) -> dict[str, np.ndarray]:
    """Roll the fund's net assets forward year by year in each simulation, applying the rules.

    Parameters
    ----------
    spec : FundSpec
    income : ndarray(float64, (n_sim, Y, R, S)) [IDR]
        Contributions received per cell at the configured rates (``cell_finance()["income"]``).
    medical_uncapped : ndarray(float64 or int64, (n_sim, Y, R, S)) [IDR]
        Claims + non-CBG cost per cell paid while no cap rule has fired.
    medical_capped : ndarray, same shape, optional
        The same after the annual benefit cap, used once a ``benefit_cap`` rule fired for the
        cell's compartment; default (no cap rule): ``medical_uncapped``.
    investment_yield : ndarray(float64, (n_sim, Y)) [1/year], optional
        Yield path per simulation; default: ``spec.investment_yield`` in every simulation.

    Returns
    -------
    dict of ndarray, the keys of :data:`jkn_risk.outputs.FUND_VARIABLES`
        ``net_assets`` int64 (n_sim, Y, C) [IDR] at year end; the flows ``fund_contributions``,
        ``fund_medical_cost``, ``fund_admin_cost``, ``fund_regional_government_share``,
        ``fund_other_income``, ``investment_income``, ``injection`` int64 (n_sim, Y, C) [IDR], with
        ``net_assets[:, y] = opening + sum over years <= y of (contributions - medical - admin
        + regional + other + investment + injection)`` exactly; ``months_of_claims`` float64
        (n_sim, Y, C) [month]; ``contribution_multiplier`` float64 (n_sim, Y, S) and ``cap_active``
        bool (n_sim, Y, C) in force during the year; ``rule_fired`` bool (n_sim, Y, n_rule);
        ``rule_triggers`` int64 (n_sim, n_rule), the number of years each rule fired.
    """
    income = np.asarray(income, dtype=np.float64)
    n, Y, R, S = income.shape
    if (Y, R, S) != (len(spec.years), len(spec.regions), len(spec.segments)):
        raise ValueError(f"income has shape {income.shape}; the spec needs (n_sim, {len(spec.years)}, "
                         f"{len(spec.regions)}, {len(spec.segments)})")
    med_u = np.asarray(medical_uncapped, dtype=np.float64)
    med_c = med_u if medical_capped is None else np.asarray(medical_capped, dtype=np.float64)
    if med_u.shape != income.shape or med_c.shape != income.shape:
        raise ValueError("medical cost arrays must have the shape of income")
    yld = (np.broadcast_to(spec.investment_yield, (n, Y)) if investment_yield is None
           else np.asarray(investment_yield, dtype=np.float64))
    if yld.shape != (n, Y):
        raise ValueError(f"investment_yield must have shape {(n, Y)}, not {yld.shape}")
    C, K = len(spec.compartments), len(spec.rules)
    out = {name: np.zeros((n, Y, C), dtype=np.int64) for name in ("net_assets", *_FLOWS)}
    out["months_of_claims"] = np.empty((n, Y, C))
    out["contribution_multiplier"] = np.empty((n, Y, S))
    out["cap_active"] = np.zeros((n, Y, C), dtype=bool)
    out["rule_fired"] = np.zeros((n, Y, K), dtype=bool)
    count = np.zeros((n, K), dtype=np.int64)
    last = np.full((n, K), _NEVER, dtype=np.int64)
    mult, cap = np.ones((n, S)), np.zeros((n, C), dtype=bool)
    balance = np.broadcast_to(spec.opening, (n, C)).copy()

    for y in range(Y):
        out["contribution_multiplier"][:, y], out["cap_active"][:, y] = mult, cap
        flows = _year_flows(spec, y, income[:, y], med_u[:, y], med_c[:, y], mult, cap)
        flows["fund_other_income"] = np.broadcast_to(spec.other_income[y], (n, C))
        net = (flows["fund_contributions"] - flows["fund_medical_cost"] - flows["fund_admin_cost"]
               + flows["fund_regional_government_share"] + flows["fund_other_income"])
        average = balance + 0.5 * net
        rate = yld[:, y, None]
        if spec.negative_balance_rate is not None:
            rate = np.where(average < 0, spec.negative_balance_rate, rate)
        flows["investment_income"] = np.rint(rate * average).astype(np.int64)
        year_result = net + flows["investment_income"]
        closing = balance + year_result
        injection = np.zeros((n, C), dtype=np.int64)
        medical = flows["fund_medical_cost"]

        for k, rule in enumerate(spec.rules):
            eligible = (y - last[:, k] >= rule.min_years_between) & (count[:, k] < rule.max_times)
            for j in rule.after:
                eligible &= count[:, j] > 0
            if rule.measure == ALWAYS:
                holds = np.ones((n, C), dtype=bool)
            else:
                holds = _measure(rule, closing, medical) < rule.threshold
            if rule.kind == RAISE:
                fired = holds & eligible
                mult = np.where(fired[:, None] & rule.segments, mult * (1.0 + rule.increase), mult)
            elif rule.kind == CAP:
                h = holds if holds.ndim == 2 else holds[:, None]
                switched = h & rule.compartments & ~cap & eligible[:, None]
                fired = switched.any(axis=1)
                cap = cap | switched
            else:
                pay = _injection(rule, holds if holds.ndim == 2 else holds[:, None], eligible, closing,
                                 medical, year_result, injection)
                fired = (pay > 0).any(axis=1)
                closing, injection = closing + pay, injection + pay
            count[fired, k] += 1
            last[fired, k] = y
            out["rule_fired"][:, y, k] = fired

        flows["injection"] = injection
        for name in _FLOWS:
            out[name][:, y] = flows[name]
        out["net_assets"][:, y] = closing
        out["months_of_claims"][:, y] = months_of_claims(closing, medical)
        balance = closing
    out["rule_triggers"] = count
    return out
