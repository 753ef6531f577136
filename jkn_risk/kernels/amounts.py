"""Event amounts in integer rupiah: a case group's tariff, times a lognormal noise of mean 1.

Shared by both modes of :mod:`jkn_risk.kernels.claims`:

- :func:`event_tables` merges each individual cell's power-of-two alias table with its tariffs,
  ``(threshold, own tariff, alias's tariff, 0)`` per column in one aligned 32-byte row, so that
  an event costs one 64-bit draw and one row (three dependent loads measured 5.5 against 2.1 ns
  per event), and 4 events' rows load as 16-byte halves into SIMD lanes (:func:`_case_pass_ir`);
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
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from jkn_risk.kernels.lognormal import aligned_rows, lognormal_batch
from jkn_risk.kernels.alias import pow2_alias_tables
from jkn_risk.kernels.vecmath import bits_from_f64, f64_from_bits, row_columns_ir
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


# ---------------------------------------------------------------------------------------------
# The case groups of a batch, 4 words at a time, in LLVM IR
# ---------------------------------------------------------------------------------------------
# A plain loop over the words does not vectorise (the table loads are data-dependent, so LLVM
# cannot rule out that the stores hit the table) and costs ~12 instructions per event. This pass
# does, per group of 4 words: the 4 rows as the columns threshold, own tariff, alias's tariff
# (:func:`jkn_risk.kernels.vecmath.row_columns_ir`; the zero pad column is unused), then one
# unsigned compare and one select: the same integers as the scalar code, so the same bits.
_VEC = 4


@intrinsic
def _case_pass_ir(typingctx, raw, table, out, n4, sh, mask):
    """Case-group tariffs of the words ``raw[:n4]`` (``n4`` a multiple of 4) into ``out[:n4]``:
    int64 tariffs (``out`` int64) or their float64 values (``out`` float64). No checks."""
    ok = (isinstance(raw, types.Array) and raw.ndim == 1 and raw.layout == "C"
          and raw.dtype == types.uint64 and isinstance(table, types.Array) and table.ndim == 2
          and table.layout == "C" and table.dtype == types.int64
          and isinstance(out, types.Array) and out.ndim == 1 and out.layout == "C"
          and out.dtype in (types.int64, types.float64))
    if not ok:
        return None  # a typing error: this pass reads and writes through raw data pointers
    sig = types.void(raw, table, out, types.int64, types.uint64, types.uint64)
    as_float = out.dtype == types.float64

    def codegen(context, builder, signature, args):
        raw_a = context.make_array(signature.args[0])(context, builder, args[0])
        tab_a = context.make_array(signature.args[1])(context, builder, args[1])
        out_a = context.make_array(signature.args[2])(context, builder, args[2])
        n4, sh, mask = args[3], args[4], args[5]
        i32, i64, f64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()
        vi, vd = ir.VectorType(i64, _VEC), ir.VectorType(f64, _VEC)

        def shuf(a, b, idx):
            return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(i32, _VEC), idx))

        rawp = builder.bitcast(raw_a.data, i64.as_pointer())
        tabp = builder.bitcast(tab_a.data, i64.as_pointer())
        outp = builder.bitcast(out_a.data, (f64 if as_float else i64).as_pointer())
        maskv = builder.insert_element(ir.Constant(vi, ir.Undefined), mask, ir.Constant(i32, 0))
        maskv = shuf(maskv, maskv, [0] * _VEC)
        entry = builder.block
        loop = builder.append_basic_block("case_pass")
        done = builder.append_basic_block("case_pass_done")
        builder.cbranch(builder.icmp_signed(">", n4, ir.Constant(i64, 0)), loop, done)
        builder.position_at_end(loop)
        i = builder.phi(i64)
        i.add_incoming(ir.Constant(i64, 0), entry)
        r = builder.load(builder.bitcast(builder.gep(rawp, [i]), vi.as_pointer()), align=8)
        thr, own, ali, _ = row_columns_ir(builder, rawp, i, tabp, lambda b, w: b.lshr(w, sh))
        keep = builder.icmp_unsigned("<", builder.and_(r, maskv), thr)
        t = builder.select(keep, own, ali)
        if as_float:
            t = builder.sitofp(t, vd)
        builder.store(t, builder.bitcast(builder.gep(outp, [i]), t.type.as_pointer()), align=8)
        i_next = builder.add(i, ir.Constant(i64, _VEC))
        i.add_incoming(i_next, builder.block)
        builder.cbranch(builder.icmp_signed("<", i_next, n4), loop, done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen


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
    pass is a tight loop: the raw words (:func:`jkn_risk.rng.fill_u64`, SIMD), the case groups
    (:func:`_case_pass_ir`, SIMD, the last ``ne % 4`` in the scalar loop that defines it), the
    factors (:func:`jkn_risk.kernels.lognormal.lognormal_batch`), then the products and
    rounding in a vectorised pass (:func:`scaled_amounts`). ``raw`` must hold
    ``round_up(ne, LANES)`` words.
    """
    fill_u64(lanes, 0, raw, ne)
    n4 = ne - ne % _VEC
    if noise:
        _case_pass_ir(raw, table, tz, n4, sh, mask)
    else:
        _case_pass_ir(raw, table, amt, n4, sh, mask)
    for i in range(n4, ne):
        v = raw[i]
        j = v >> sh  # unsigned: no negative-index wraparound in the loads below
        # Branch-free select of the column's own tariff or its alias's (the branch would be
        # unpredictable); threshold and both tariffs share one 32-byte row.
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

    ``table[row, j] = (threshold, tariff[j], tariff[alias[j]], 0)`` (int64; the threshold's bits
    are the uint64 of :func:`jkn_risk.kernels.alias.pow2_alias_tables`): one 64-bit draw
    ``v`` picks column ``v >> shift`` and pays its own tariff when the low bits are below the
    threshold, else its alias's. Putting the three in one row makes an event one row instead of
    three dependent loads (2.1 against 5.5 ns per event measured here); the zero pads the row to
    32 bytes, 32-byte aligned, so that the SIMD pass (:func:`_case_pass_ir`) loads each row as
    two 16-byte halves (measured alone with the words' draw: 0.77 against 0.87 ns per event
    for the scalar loop over 24-byte rows).

    ``pow2``: the ``(thr, ali, shift)`` of :func:`jkn_risk.kernels.alias.pow2_alias_tables`
    for these alias tables, when the caller already has them (else they are built here).

    Returns ``table`` (int64, (rows, 2**max_bits, 4), 64-byte aligned), ``table_row`` (int64,
    (n_cell,); the row of each individual cell, 0 for collective cells, which do not use it) and
    ``shift`` (int64, (n_cell,); ``64 - bits`` of the cell's mix).
    """
    cells = np.flatnonzero(individual)
    if cells.size == 0:  # all collective: no alias tables to build
        return np.zeros((1, 2, 4), dtype=np.int64), np.zeros(individual.shape[0], np.int64), \
            np.zeros(individual.shape[0], np.int64)
    thr, ali, mix_shift = pow2 if pow2 is not None else \
        pow2_alias_tables(alias_prob, alias_index, n_groups)
    width = thr.shape[1]
    k = tariff.shape[1]
    table = aligned_rows(cells.size * width).reshape(cells.size, width, 4)
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
