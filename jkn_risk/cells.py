"""Parameters -> the kernel's per-cell inputs, built once per run.

A *cell* is (year, region, segment, care), flattened in that order. Its random streams are keyed
by a 64-bit keyed BLAKE2 hash of its labels (not its position), so that adding a year, region or
segment does not move the streams of the others, and two scenarios of one config share their
cells' streams (common random numbers). Case-mix alias tables are built per (region, care).
"""
from __future__ import annotations

import hashlib

import numpy as np

from jkn_risk.codes import NO_CAP
from jkn_risk.kernels.alias import build_alias_table
from jkn_risk.kernels.claims import KernelInputs, kernel_inputs
from jkn_risk.parameters import Parameters

__all__ = ["cell_key", "cell_keys", "build_kernel_inputs"]

_KEY = b"jkn_risk cell v2"  # part of the stream definition: changing it changes every result


def cell_key(year: int, region: str, segment: str, care: str) -> int:
    """A stable 64-bit identity of a cell, from its labels (int64, two's complement)."""
    text = "\x1f".join((str(int(year)), region, segment, care)).encode()
    digest = hashlib.blake2b(text, digest_size=8, key=_KEY).digest()
    return int(np.frombuffer(digest, dtype="<i8")[0])


def cell_keys(params: Parameters) -> np.ndarray:
    """Keys of every cell, ndarray(int64, (Y * R * S * C,)) in (year, region, segment, care)
    order."""
    return np.array([cell_key(y, r, s, c) for y in params.years for r in params.regions
                     for s in params.segments for c in params.care], dtype=np.int64)


def _alias_tables(params: Parameters):
    R, C = len(params.regions), len(params.care)
    k = max(m.probability.size for m in params.case_mix.values())
    prob = np.zeros((R * C, k))
    index = np.zeros((R * C, k), dtype=np.int64)
    n_groups = np.zeros(R * C, dtype=np.int64)
    for (r, c), mix in params.case_mix.items():
        p, a = build_alias_table(mix.probability)
        n = p.size
        prob[r * C + c, :n], index[r * C + c, :n], n_groups[r * C + c] = p, a, n
    return prob, index, n_groups


def build_kernel_inputs(params: Parameters) -> KernelInputs:
    """The kernel's inputs for every cell of ``params`` (keys, case mixes, tariffs, codes)."""
    Y, R, S, C = params.shape
    n = Y * R * S * C
    mix = np.broadcast_to((np.arange(R)[:, None] * C + np.arange(C)[None, :])[None, :, None, :],
                          (Y, R, S, C)).ravel()
    cap_value = NO_CAP if params.annual_cap is None else int(np.rint(params.annual_cap))
    cap = np.array([cap_value if applies else NO_CAP for applies in params.cap_care],
                   dtype=np.int64)
    prob, index, n_groups = _alias_tables(params)
    k = prob.shape[1]

    def per_care(values, dtype):
        return np.broadcast_to(np.asarray(values, dtype=dtype), (Y, R, S, C)).ravel()

    return kernel_inputs(
        seed=params.seed, cell_key=cell_keys(params), mix=mix, alias_prob=prob,
        alias_index=index, n_groups=n_groups, tariff=params.tariffs().reshape(n, k),
        frequency=np.full(n, params.frequency, dtype=np.int64),
        dispersion=np.full(n, params.dispersion), sigma=np.full(n, params.cost_noise_sigma),
        cap=per_care(cap, np.int64), method=per_care(params.method, np.int64))
