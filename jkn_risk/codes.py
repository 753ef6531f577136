"""The integer codes that configs' words become, and the one rule that picks a cell's method.

Kernels see small integers, never strings (DESIGN.md convention 3); this module is the only
place that maps one to the other, and it imports nothing of the package, so the schema,
the parameters and the kernels all read the same codes.
"""
from __future__ import annotations

__all__ = ["FREQ_POISSON", "FREQ_NEGBIN", "FREQUENCY", "METHOD_INDIVIDUAL", "METHOD_COLLECTIVE",
           "METHOD", "NO_CAP", "resolve_methods"]

#: Claim-count law per member-year.
FREQ_POISSON, FREQ_NEGBIN = 0, 1
FREQUENCY = {"poisson": FREQ_POISSON, "negative_binomial": FREQ_NEGBIN}

#: How a cell is simulated: every member-year (exact with a per-member cap), or the cell's
#: compound total directly (exact only without a cap).
METHOD_INDIVIDUAL, METHOD_COLLECTIVE = 0, 1
METHOD = {"individual": METHOD_INDIVIDUAL, "collective": METHOD_COLLECTIVE}

#: Annual cap value meaning "no cap".
NO_CAP = -1


def resolve_methods(method: str, capped: tuple[bool, ...]) -> tuple[int, ...]:
    """The method code per care type.

    Parameters
    ----------
    method : {"auto", "individual", "collective"}
        The config's ``simulation.method``.
    capped : tuple of bool, one per care type
        Whether an annual benefit cap applies to that care type's claims.

    Returns
    -------
    tuple of int
        ``auto`` is collective where no cap applies (exact and O(case groups)) and individual
        where one does; an explicit choice applies to every care type.

    Raises
    ------
    ValueError
        ``collective`` for a capped care type: the collective model has no members to cap.
    """
    if method == "auto":
        return tuple(METHOD_INDIVIDUAL if c else METHOD_COLLECTIVE for c in capped)
    if method == "collective" and any(capped):
        raise ValueError("collective is exact only without policy.annual_benefit_cap; "
                         "use individual or auto")
    return tuple(METHOD[method] for _ in capped)
