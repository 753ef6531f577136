"""Numba kernels: the member-year claims kernel and its exact samplers (arrays in, arrays out)."""
from jkn_risk.kernels.claims import (
    FREQ_NEGBIN,
    FREQ_POISSON,
    METHOD_COLLECTIVE,
    METHOD_INDIVIDUAL,
    NO_CAP,
    OUT_CLAIMS,
    OUT_CLAIMS_UNCAPPED,
    OUT_EVENTS,
    OUT_MEMBERS_OVER_CAP,
    OUT_MEMBERS_WITH_EVENTS,
    KernelInputs,
    kernel_inputs,
    simulate_cells,
)
from jkn_risk.kernels.alias import alias_probabilities, build_alias_table

__all__ = [
    "KernelInputs",
    "kernel_inputs",
    "simulate_cells",
    "build_alias_table",
    "alias_probabilities",
    "OUT_EVENTS",
    "OUT_MEMBERS_WITH_EVENTS",
    "OUT_CLAIMS_UNCAPPED",
    "OUT_CLAIMS",
    "OUT_MEMBERS_OVER_CAP",
    "FREQ_POISSON",
    "FREQ_NEGBIN",
    "METHOD_INDIVIDUAL",
    "METHOD_COLLECTIVE",
    "NO_CAP",
]
