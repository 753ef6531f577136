"""Event amounts in integer rupiah: a case group's tariff, times a lognormal noise of mean 1.

Shared by both modes of :mod:`jkn_risk.kernels.claims`:

- :func:`event_tables` merges each individual cell's power-of-two alias table with its tariffs,
  ``(threshold, own tariff, alias's tariff)`` per column in one 24-byte row, so that an event
  costs one 64-bit draw and one cache line (three dependent loads measured 5.5 against
  2.1 ns per event);
- :func:`fill_amounts` draws a batch of events' case groups and, with noise, their lognormal
  factors ``exp(sigma Z - sigma^2 / 2)`` directly, by the ziggurat of
  :mod:`jkn_risk.kernels.lognormal` (no ``exp`` on its fast path);
- :func:`scaled_amounts` turns tariffs and factors into ``rint(tariff * factor)`` in one
  vectorised loop, converting to int64 through the exponent bits (exact below ``2**51``
  rupiah; a batch with a larger amount is redone by ``np.rint``); :func:`scaled_totals` does
  the same for members' annual totals times the unit-cost scale.

Rounding is half to even, as ``np.rint``; with ``sigma == 0`` an amount is the tariff exactly.
Factors are drawn in batches of ``EVENT_BATCH`` (each batch's rejected boxes completed after its
fast pass), so the batch length is part of the stream definition.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from jkn_risk.kernels.lognormal import lognormal_batch
from jkn_risk.kernels.alias import pow2_alias_tables
from jkn_risk.kernels.vecmath import bits_from_f64, f64_from_bits
from jkn_risk.rng import fill_u64

__all__ = ["EVENT_BATCH", "event_tables", "fill_amounts", "scaled_amounts", "scaled_totals"]

#: Events per batch (four scratch arrays of this length per block). Part of the stream
#: definition when sigma > 0.
EVENT_BATCH = 1024
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: y + _MAGIC holds rint(y) in its low bits
_MAGIC_BITS = 0x4338000000000000
_TWO51 = 2.0**51
_TWO52 = 4503599627370496.0
_TWO52_BITS = 0x4330000000000000


@njit(inline="always", cache=True)
def scaled_amounts(n, tz, factor, amt):
    """``amt[i] = rint(tz[i] * factor[i])`` as int64, ``i < n`` (tariffs [IDR] and noise
    factors as float64); vectorised."""
    large = 0
    for i in range(n):  # vectorised
        y = tz[i] * factor[i]
        large += np.int64(y >= _TWO51)
        amt[i] = bits_from_f64(y + _MAGIC) - _MAGIC_BITS
    if large:
        for i in range(n):
            amt[i] = np.int64(np.rint(tz[i] * factor[i]))


@njit(inline="always", cache=True)
def scaled_totals(n, tot, scale, out):
    """``out[i] = np.int64(np.rint(tot[i] * scale))``, ``i < n`` (``tot`` int64 >= 0, ``scale``
    >= 0; ``out`` may be ``tot``); vectorised when every product is below ``2**51`` (the
    largest total decides: the product is monotone in it), else by ``np.rint``."""
    hi = 0
    for i in range(n):  # vectorised
        hi = max(hi, tot[i])
    if hi < np.int64(1) << 51 and float(hi) * scale < _TWO51:
        for i in range(n):  # vectorised: float(t) exactly and rint through the exponent bits
            x = (f64_from_bits(tot[i] | _TWO52_BITS) - _TWO52) * scale
            out[i] = bits_from_f64(x + _MAGIC) - _MAGIC_BITS
    else:
        for i in range(n):
            out[i] = np.int64(np.rint(tot[i] * scale))


@njit(inline="always", cache=True)
def fill_amounts(noise, ne, table, sh, mask, amt, tz, zz, raw, lanes, b0, b1, b2, b3, zt, fh,
                 par):
    """Amounts in rupiah of ``ne`` events into ``amt[:ne]``: a case group each (bulk stream
    ``lanes[0]``) and, with ``noise``, a lognormal factor each (bulk stream ``lanes[1]``,
    completions of rejected boxes from the scalar stream ``b``, which is returned; ``zt, fh,
    par`` are the cell's sigma tables, :func:`jkn_risk.kernels.lognormal.lognormal_tables`).

    Called with a literal ``noise`` flag, so each call site compiles to its own loops. Each
    pass is a tight loop: the raw words (:func:`jkn_risk.rng.fill_u64`, SIMD), the case groups,
    the factors (:func:`jkn_risk.kernels.lognormal.lognormal_batch`), then the products and
    rounding in a vectorised pass (:func:`scaled_amounts`). ``raw`` must hold
    ``round_up(ne, LANES)`` words.
    """
    fill_u64(lanes, 0, raw, ne)
    for i in range(ne):
        v = raw[i]
        j = v >> sh  # unsigned: no negative-index wraparound in the loads below
        # Branch-free select of the column's own tariff or its alias's (the branch would be
        # unpredictable); threshold and both tariffs share one cache line.
        keep = np.int64((v & mask) < np.uint64(table[j, 0]))
        t_alias = table[j, 2]
        t = t_alias + (table[j, 1] - t_alias) * keep
        if noise:
            tz[i] = float(t)
        else:
            amt[i] = t
    if noise:
        b0, b1, b2, b3 = lognormal_batch(ne, raw, zz, lanes, 1, b0, b1, b2, b3, zt, fh, par)
        scaled_amounts(ne, tz, zz, amt)
    return b0, b1, b2, b3


def event_tables(alias_prob, alias_index, n_groups, mix, tariff, individual, pow2=None):
    """Per individual cell (``individual``: bool per cell), the power-of-two alias table merged
    with the cell's tariffs.

    ``table[row, j] = (threshold, tariff[j], tariff[alias[j]])`` (int64; the threshold's bits
    are the uint64 of :func:`jkn_risk.kernels.alias.pow2_alias_tables`): one 64-bit draw
    ``v`` picks column ``v >> shift`` and pays its own tariff when the low bits are below the
    threshold, else its alias's. Putting the three in one 24-byte row makes an event one cache
    line instead of three dependent loads (2.1 against 5.5 ns per event measured here).

    ``pow2``: the ``(thr, ali, shift)`` of :func:`jkn_risk.kernels.alias.pow2_alias_tables`
    for these alias tables, when the caller already has them (else they are built here).

    Returns ``table`` (int64, (rows, 2**max_bits, 3)), ``table_row`` (int64, (n_cell,); the
    row of each individual cell, 0 for collective cells, which do not use it) and ``shift``
    (int64, (n_cell,); ``64 - bits`` of the cell's mix).
    """
    cells = np.flatnonzero(individual)
    if cells.size == 0:  # all collective: no alias tables to build
        return np.zeros((1, 2, 3), dtype=np.int64), np.zeros(individual.shape[0], np.int64), \
            np.zeros(individual.shape[0], np.int64)
    thr, ali, mix_shift = pow2 if pow2 is not None else \
        pow2_alias_tables(alias_prob, alias_index, n_groups)
    width = thr.shape[1]
    k = tariff.shape[1]
    table = np.zeros((cells.size, width, 3), dtype=np.int64)
    table_row = np.zeros(individual.shape[0], dtype=np.int64)
    cols = np.arange(width)
    own = cols < k  # padded columns have threshold 0: never kept, always aliased
    for row, c in enumerate(cells):
        x = mix[c]
        table_row[c] = row
        table[row, :, 0] = thr[x].view(np.int64)
        table[row, own, 1] = tariff[c, cols[own]]
        table[row, :, 2] = tariff[c, ali[x]]
    return table, table_row, np.ascontiguousarray(mix_shift[mix])
