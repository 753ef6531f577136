"""Named shocks (multiply, add, set) applied to built parameters: the stress-test vocabulary.

A shock addresses one parameter array of :class:`jkn_risk.parameters.Parameters` and a
selection of its cells; dates select years, and a shock starting in month m of a year applies
to the remaining (13 - m)/12 of that year, blending the annual value.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from jkn_risk.schema import _parse_date_key

if TYPE_CHECKING:  # pragma: no cover
    from jkn_risk.config import Shock
    from jkn_risk.parameters import Parameters

__all__ = ["apply_shocks"]

# target -> (Parameters field, its dims)
_TARGETS = {
    "utilization": ("rate", ("year", "region", "segment", "care")),
    "tariff": ("tariff_multiplier", ("year", "region", "segment", "care")),
    "non_cbg": ("non_cbg_pmpm", ("year", "region", "segment")),
    "contribution": ("contribution_pmpm", ("year", "segment")),
    "collection": ("collection", ("year", "segment")),
    "members": ("members", ("year", "region", "segment")),
    "administration": ("admin_share", ("year",)),
}


def _year_weights(years, shock) -> np.ndarray:
    """Fraction of each year the shock covers (0..1)."""
    w = np.ones(len(years))
    if shock.from_ is not None:
        y0, m0 = _parse_date_key(shock.from_)
        for i, y in enumerate(years):
            w[i] = 0.0 if y < y0 else ((13 - m0) / 12.0 if y == y0 else 1.0)
    if shock.to is not None:
        w[np.asarray(years) > shock.to] = 0.0
    return w


def _selector(params: "Parameters", dims, shock) -> tuple:
    labels = {"region": (params.regions, shock.regions), "segment": (params.segments, shock.segments),
              "care": (params.care, shock.care)}
    index = []
    for d in dims:
        if d == "year":
            index.append(slice(None))
            continue
        names, chosen = labels[d]
        index.append(slice(None) if chosen is None else [names.index(x) for x in chosen])
    return np.ix_(*[np.arange(n) if isinstance(i, slice) else np.array(i)
                    for i, n in zip(index, [len(params.years) if d == "year" else len(labels[d][0])
                                            for d in dims])])


def apply_shocks(params: "Parameters", shocks: "list[Shock]") -> "Parameters":
    """Return new parameters with every shock applied in order (the input is not changed)."""
    for shock in shocks:
        field, dims = _TARGETS[shock.target]
        arr = np.array(getattr(params, field), dtype=float, copy=True)
        sel = _selector(params, dims, shock)
        old = arr[sel]
        if shock.multiply is not None:
            new = old * shock.multiply
        elif shock.add is not None:
            new = old + shock.add
        else:
            new = np.full_like(old, shock.set)
        w = _year_weights(params.years, shock).reshape((-1,) + (1,) * (len(dims) - 1))
        w = w[sel[0].ravel()].reshape(sel[0].shape) if len(dims) > 1 else w
        arr[sel] = old * (1 - w) + new * w
        changes = {field: arr}
        if field == "contribution_pmpm":  # the class-III part scales with the billed amount
            old_full = getattr(params, field)
            ratio = np.divide(arr, old_full, out=np.ones_like(arr), where=old_full != 0)
            changes["class3_pmpm"] = params.class3_pmpm * ratio
        params = replace(params, **changes)
    return params
