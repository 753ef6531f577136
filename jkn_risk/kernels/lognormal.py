"""Exact ziggurat sampler for the mean-one lognormal ``Y = exp(sigma Z - sigma^2 / 2)``.

The fast path (99.1-99.8% of draws for ``0 < sigma <= 3``) turns ONE 64-bit word into a
sample with one table row (32 bytes), one fused multiply-add and one integer comparison: no
``exp``, no ``log``, no branch, so LLVM vectorises a loop of it (:func:`lognormal_batch`).

Construction (a two-sided ziggurat; Marsaglia & Tsang 2000 for unimodal densities)
-----------------------------------------------------------------------------------
With ``m = exp(-3 sigma^2 / 2)`` (the mode) and ``w(y) = ln(y / m) / sigma``, the density is

    f(y) = phi((ln y + sigma^2/2) / sigma) / (sigma y) = f(m) exp(-w(y)^2 / 2),
    f(m) = exp(sigma^2) / (sigma sqrt(2 pi)),

(substitute ``ln y = ln m + sigma w``). We work with the unnormalised ``h(y) = exp(-w^2/2)``
(maximum 1 at the mode, total mass ``M = 1 / f(m) = sigma sqrt(2 pi) exp(-sigma^2)``). Its
level set ``{h >= t}`` is the interval ``[L, R] = [m e^{-sigma w}, m e^{+sigma w}]`` with
``w = sqrt(-2 ln t)``: closed form, no root finding. The region under ``h`` is cut into
``n = 2**bits`` pieces of equal area ``V`` by levels ``0 < t_0 < t_1 < ... < t_{n-2} < 1``
(``w_0 > w_1 > ... > w_{n-2} > 0``):

- slot 0 (the base): ``{(y, u): u < min(h(y), t_0)}`` = the strip ``[L_0, R_0] x [0, t_0]``
  plus the two tails under ``h``: ``y < L_0`` (``Z < -(w_0 + sigma)``) and ``y > R_0``
  (``Z > w_0 - sigma``). Area ``V = t_0 (R_0 - L_0) + M (Phi(-(w_0 + sigma)) +
  Phi(sigma - w_0))``.
- slot ``j = 1 .. n-1``: the box ``[L_{j-1}, R_{j-1}] x [t_{j-1}, t_j]`` (``t_{n-1} >= 1``:
  the top box reaches above the mode), of area ``(R_{j-1} - L_{j-1})(t_j - t_{j-1}) = V``.

One parameter, ``w_0``, fixes everything: ``V`` is the base area, then ``t_j = t_{j-1} +
V / (R_{j-1} - L_{j-1})`` recursively; ``w_0`` is bisected (to adjacent doubles) so that the
recursion reaches height 1 exactly at the last box, from above (``t_{n-1} - 1`` is ``<= 0``
before rounding: 1e-15..1e-10 of slack, which only adds rejected area above the mode). Since
each box spans BOTH sides of the mode, all slots have the same area without any integer split
into left and right layers; the asymmetry of the lognormal is in the tables only.

Sampling. A uniform slot ``j`` (the low ``bits`` of the word) and a uniform point ``x`` in its
box (the top 52 bits as ``u``; ``x = L_{j-1} + u (R_{j-1} - L_{j-1})``) make a uniform point
of the union of boxes, whose area ``n V`` covers the region under ``h``. Accepting it when its
height lies under ``h`` gives ``x`` the law ``h / M`` = the lognormal (rejection sampling from
a uniform point in a superset). Fast path: if ``x`` lies in the core ``[L_j, R_j]`` of box
``j`` (decided by integer thresholds on ``u``) then ``h(x) >= t_j`` and every height in the
box is under the curve: accept without drawing the height. Slot 0's x is drawn over the
virtual width ``V / t_0 >= R_0 - L_0`` and accepted on ``[L_0, R_0]`` (the strip); the rest of
its range has probability exactly (tail area) / V.

Slow path (:func:`slow`, ~0.2-0.9%, extra words from the scalar xoshiro stream):

- box ``j >= 1``, ``x`` in a wedge: draw the height ``u`` uniform on ``[t_{j-1}, t_j]`` and
  accept ``x`` iff ``u < h(x)``; on rejection restart with a fresh word (a fresh, independent
  ziggurat attempt, as :func:`jkn_risk.kernels.sampling.normal` does);
- slot 0 outside the strip: a point of the two tails, which is always accepted: pick the left
  tail with probability ``Phi(-(w_0+sigma)) / (Phi(-(w_0+sigma)) + Phi(sigma-w_0))``, draw
  ``Z`` from the normal conditioned on ``Z < -(w_0 + sigma)`` or ``Z > w_0 - sigma`` exactly
  (Marsaglia's exponential rejection for a normal tail beyond ``a > 0``; plain rejection from
  normals for ``a < 1``, which does not occur for ``sigma <= 3``), and return ``exp(sigma Z -
  sigma^2/2)``: ``Y`` given ``Y < L_0`` or ``Y > R_0``.

So "fast candidate if accepted, else the slow completion" is exactly the lognormal, up to the
float64 rounding of the tables (levels and widths ~1e-16 relative, recursion ~1e-13) and the
2^-52 quantisation of the uniform, as in NumPy's ziggurat.

Word layout: ``j = r & (n - 1)`` (low ``bits``), ``u = (r >> 12) / 2**52`` (top 52 bits; bits
``bits .. 11`` are unused for ``bits < 12``).

Tables (:func:`lognormal_tables`), per sigma:

- ``zt`` int64 ``(n, 4)``, one 32-byte row per slot (one cache line per draw):
  ``[bits of L, bits of W * 2**-52, klo, kspan]``; the fast path accepts iff
  ``0 <= u52 - klo < kspan`` (``u52`` the 52-bit integer).
- ``fh`` float64 ``(n, 2)``: ``[t_bottom, t_top]`` of each box (slow path only).
- ``par`` float64: ``m, sigma, w_0, V, M, a_left, a_right, q_left, sigma^2/2, n``.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types, uint64
from numba.extending import intrinsic
from scipy.special import ndtr

from jkn_risk.kernels.sampling import normal_tail, uniform
from jkn_risk.kernels.vecmath import bits_from_f64, f64_from_bits, fma, row_columns_ir
from jkn_risk.rng import fill_u64, next_u64

__all__ = ["aligned_rows", "lognormal_tables", "candidate", "fast_pass", "slow", "slow_pass",
           "lognormal_batch", "lognormal_batch_reference", "fast_acceptance"]

_TWO52 = 4503599627370496.0
_TWO52_BITS = 0x4330000000000000
_INV52 = 1.0 / _TWO52
_U_SHIFT = uint64(12)  # the uniform is the top 52 bits of the word
MAX_BITS = 12

# par indices
P_M, P_SIGMA, P_W0, P_V, P_MASS, P_AL, P_AR, P_QL, P_HALFVAR, P_N = range(10)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def _levels(w0, s, m, v, n_levels, w, t, d):
    """Run the equal-area recursion from the base level ``w0`` with common area ``v``.

    Fills levels ``w[k], t[k] = exp(-w_k^2/2), d[k] = 1 - t[k]`` for ``k < n_levels`` and
    returns ``d_N = 1 - t_N`` where ``t_N`` is the top of the last box (``<= 0``: the boxes
    reach the mode; ``> 0``: they fall short). Returns ``-inf`` if the levels pass the mode
    before the last box (``v`` too large). Heights are accumulated twice, as ``t`` (accurate
    relative to small heights near the base) and as ``d = 1 - t`` (accurate near the mode);
    each level's ``w`` comes from the better of the two.
    """
    w[0] = w0
    tt = math.exp(-0.5 * w0 * w0)
    dd = -math.expm1(-0.5 * w0 * w0)
    t[0] = tt
    d[0] = dd
    for k in range(1, n_levels + 1):
        step = v / (2.0 * m * math.sinh(s * w[k - 1]))
        tt = tt + step
        dd = dd - step
        if k == n_levels:
            return dd
        if dd <= 0.0:
            return -np.inf
        if tt < 0.5:
            w[k] = math.sqrt(-2.0 * math.log(tt))
        else:
            w[k] = math.sqrt(-2.0 * math.log1p(-dd))
        t[k] = tt
        d[k] = dd
    return dd


def _base_area(w0, s, m, mass):
    """Area under ``min(h, t_0)``: strip ``t_0 (R_0 - L_0)`` plus both tails' mass."""
    t0 = math.exp(-0.5 * w0 * w0)
    return t0 * 2.0 * m * math.sinh(s * w0) + mass * (float(ndtr(-(w0 + s)))
                                                       + float(ndtr(s - w0)))


def aligned_rows(n):
    """Zeroed int64 ``(n, 4)``, C-contiguous, its data 64-byte aligned (a row never straddles
    two cache lines)."""
    buf = np.zeros(n * 4 + 8, dtype=np.int64)
    off = (-buf.ctypes.data % 64) // 8
    return buf[off:off + n * 4].reshape(n, 4)


def lognormal_tables(sigma: float, bits: int = 11):
    """Ziggurat tables for ``exp(sigma Z - sigma^2/2)``, ``0 < sigma <= 3``, ``2**bits`` slots.

    Returns ``(zt, fh, par)`` (see the module docstring). Pure numpy/scipy plus one small
    compiled recursion; ~5-10 ms.
    """
    s = float(sigma)
    if not (0.0 < s <= 3.0) or not math.isfinite(s):
        raise ValueError("sigma must lie in (0, 3]")
    bits = int(bits)
    if not 2 <= bits <= MAX_BITS:
        raise ValueError("bits must lie in 2..12")
    n = 1 << bits
    nl = n - 1  # levels t_0 .. t_{n-2}; boxes 1 .. n-1
    m = math.exp(-1.5 * s * s)
    mass = s * math.sqrt(2.0 * math.pi) * math.exp(-s * s)
    w = np.zeros(nl)
    t = np.zeros(nl)
    d = np.zeros(nl)
    # Bisection on w0: small w0 -> V large -> boxes overshoot the mode (d_N <= 0); large w0 ->
    # they fall short. Keep lo on the overshooting side and stop at adjacent doubles.
    lo, hi = 0.25, 40.0
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _levels(mid, s, m, _base_area(mid, s, m, mass), nl, w, t, d) <= 0.0:
            lo = mid
        else:
            hi = mid
    w0 = lo
    v = _base_area(w0, s, m, mass)
    d_top = _levels(w0, s, m, v, nl, w, t, d)
    if not (-1e-8 < d_top <= 0.0) or not np.all(np.diff(w) < 0) or w[-1] <= 0.0:
        raise RuntimeError("ziggurat recursion did not close")
    L = m * np.exp(-s * w)
    W = 2.0 * m * np.sinh(s * w)
    zt = aligned_rows(n)
    fh = np.zeros((n, 2))
    # slot 0: strip [L0, R0] inside a virtual width V / t0
    vw = v / t[0]
    zt[0, 0] = np.float64(L[0]).view(np.int64)
    zt[0, 1] = np.float64(vw * _INV52).view(np.int64)
    zt[0, 2] = 0
    zt[0, 3] = int(math.floor(W[0] / vw * _TWO52))
    fh[0] = (0.0, t[0])
    # slots 1 .. n-1: box [L_{j-1}, R_{j-1}] x [t_{j-1}, t_j], core [L_j, R_j]
    zt[1:, 0] = L.view(np.int64)
    zt[1:, 1] = (W * _INV52).view(np.int64)
    # Core thresholds from the STORED edges (the core of box j is exactly box j+1's range as
    # the table holds it, R = L + W in float), conservatively: one quantum (2^-52 of the width)
    # inside at each end, so that rounding never lets the fast path accept outside the core.
    R = L + W
    klo = np.ceil((L[1:] - L[:-1]) / W[:-1] * _TWO52) + 1.0
    khi = np.floor((R[1:] - L[:-1]) / W[:-1] * _TWO52) - 1.0
    zt[1:n - 1, 2] = klo.astype(np.int64)
    zt[1:n - 1, 3] = np.maximum(khi - klo, 0.0).astype(np.int64)
    zt[n - 1, 2:] = 0  # top box: core is the single point m, always the slow path
    fh[1:, 0] = t
    fh[1:n - 1, 1] = t[1:]
    fh[n - 1, 1] = 1.0 - d_top  # >= 1
    p_left = float(ndtr(-(w0 + s)))
    p_right = float(ndtr(s - w0))
    par = np.array([m, s, w0, v, mass, w0 + s, w0 - s, p_left / (p_left + p_right),
                    0.5 * s * s, float(n)])
    return zt, fh, par


def fast_acceptance(zt) -> float:
    """Probability that the fast path accepts (mean over slots of ``kspan / 2**52``)."""
    return float(np.mean(zt[:, 3].astype(np.float64)) / _TWO52)


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def candidate(r, zt):
    """``(y, accepted)`` of the fast path for the word ``r`` (branch-free, vectorisable).

    Slot ``j = r & (n - 1)``; ``u52 = r >> 12``; ``y = L_j + u52 * W_j 2^-52``; accepted iff
    ``klo_j <= u52 < klo_j + kspan_j`` (the core of the box, or the strip of the base).
    """
    j = np.int64(r & uint64(zt.shape[0] - 1))
    u52 = np.int64(r >> _U_SHIFT)
    # float(u52) for u52 < 2**52 through the exponent bits (exact; vectorises on AVX2)
    fr = f64_from_bits(u52 | _TWO52_BITS) - _TWO52
    y = fma(fr, f64_from_bits(zt[j, 1]), f64_from_bits(zt[j, 0]))
    return y, uint64(u52 - zt[j, 2]) < uint64(zt[j, 3])


# ---------------------------------------------------------------------------------------------
# The vectorised fast pass, in LLVM IR
# ---------------------------------------------------------------------------------------------
# Why not a plain Numba loop over candidate(): LLVM does not vectorise it. The table is an
# argument array, so LLVM cannot prove that the stores to y never hit it, and the table's
# addresses are data-dependent (no runtime overlap check possible): "loop not vectorized: cannot
# identify array bounds". (NumPy-global tables, as in sampling._zig_candidate, are constants and
# escape this; per-sigma tables cannot be globals without recompiling the kernel per sigma.)
# Telling LLVM the accesses do not alias (scoped-noalias metadata) makes it vectorise, but with
# each table value gathered by scalar loads and inserts: slower than the scalar loop here. This
# pass does what LLVM will not: per group of 4 words, the 4 table rows as the columns L, W', klo,
# kspan (:func:`jkn_risk.kernels.vecmath.row_columns_ir`: two 16-byte loads per row and in-lane
# unpacks, no cross-lane shuffles); then exactly candidate()'s arithmetic in <4 x i64> /
# <4 x double> (the same fma, so the same bits).
#
# Rejected words are not marked NaN for a later scan of the whole batch (that scan cost ~0.5 ns
# per sample, more than the rejections themselves): the pass appends each rejected position to
# a list kept at the front of raw (the k-th rejected position i >= k, and raw[:i + 1] has been
# read by then) and parks the word's bits in y[i]. A group of 4 with a rejection (~1%) takes a
# rarely-taken branch to the recording block.
_VEC = 4


@intrinsic
def _fast_pass_ir(typingctx, raw, y, zt, n4, mask):
    """Fast path for ``raw[:n4]`` (``n4`` a multiple of 4): accepted -> ``y[i]``; rejected ->
    ``y[i]`` holds the word's bits and ``i`` is appended to ``raw[:count]``. Returns the count.
    No checks (see :func:`fast_pass`)."""
    arrays_ok = (
        isinstance(raw, types.Array) and raw.ndim == 1 and raw.layout == "C"
        and raw.dtype in (types.uint64, types.int64)
        and isinstance(y, types.Array) and y.ndim == 1 and y.layout == "C"
        and y.dtype == types.float64
        and isinstance(zt, types.Array) and zt.ndim == 2 and zt.layout == "C"
        and zt.dtype == types.int64)
    if not arrays_ok:
        return None  # a typing error: this pass reads and writes through raw data pointers
    sig = types.int64(raw, y, zt, types.int64, types.uint64)

    def codegen(context, builder, signature, args):
        raw_a = context.make_array(signature.args[0])(context, builder, args[0])
        y_a = context.make_array(signature.args[1])(context, builder, args[1])
        zt_a = context.make_array(signature.args[2])(context, builder, args[2])
        n4, mask = args[3], args[4]
        i32, i64, f64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()
        vi, vd = ir.VectorType(i64, _VEC), ir.VectorType(f64, _VEC)

        def splat(t, c):
            return ir.Constant(t, [ir.Constant(t.element, c)] * _VEC)

        fnty = ir.FunctionType(vd, [vd, vd, vd])
        fma_v = builder.module.globals.get("llvm.fma.v4f64") \
            or ir.Function(builder.module, fnty, "llvm.fma.v4f64")
        rawp = builder.bitcast(raw_a.data, i64.as_pointer())
        yp = builder.bitcast(y_a.data, f64.as_pointer())
        ztp = builder.bitcast(zt_a.data, i64.as_pointer())
        entry = builder.block
        loop = builder.append_basic_block("lnzig_fast")
        record = builder.append_basic_block("lnzig_record")
        latch = builder.append_basic_block("lnzig_latch")
        done = builder.append_basic_block("lnzig_fast_done")
        builder.cbranch(builder.icmp_signed(">", n4, ir.Constant(i64, 0)), loop, done)

        builder.position_at_end(loop)
        i = builder.phi(i64)
        cnt = builder.phi(i64)
        i.add_incoming(ir.Constant(i64, 0), entry)
        cnt.add_incoming(ir.Constant(i64, 0), entry)
        r = builder.load(builder.bitcast(builder.gep(rawp, [i]), vi.as_pointer()), align=8)
        u52 = builder.lshr(r, splat(vi, 12))
        fr = builder.fsub(builder.bitcast(builder.or_(u52, splat(vi, _TWO52_BITS)), vd),
                          splat(vd, _TWO52))
        # Each word's table row as the columns L, W', klo, kspan, in word order; the slot is the
        # word's low bits.
        col_l, col_w, col_lo, col_span = row_columns_ir(builder, rawp, i, ztp,
                                                        lambda b, w: b.and_(w, mask))
        yv = builder.call(fma_v, [fr, builder.bitcast(col_w, vd), builder.bitcast(col_l, vd)])
        ok = builder.icmp_unsigned("<", builder.sub(u52, col_lo), col_span)
        out = builder.select(ok, yv, builder.bitcast(r, vd))  # rejected: park the word
        builder.store(out, builder.bitcast(builder.gep(yp, [i]), vd.as_pointer()), align=8)
        bad = builder.bitcast(builder.not_(ok), ir.IntType(_VEC))
        any_bad = builder.icmp_unsigned("!=", bad, ir.Constant(ir.IntType(_VEC), 0))
        br = builder.cbranch(any_bad, record, latch)
        br.set_weights([1, 1000])

        builder.position_at_end(record)  # append the rejected positions, in order
        c = cnt
        for k in range(_VEC):
            pos = builder.add(i, ir.Constant(i64, k))
            builder.store(pos, builder.gep(rawp, [c]), align=8)  # c <= pos: already read
            bit = builder.extract_element(builder.not_(ok), ir.Constant(i32, k))
            c = builder.add(c, builder.zext(bit, i64))
        builder.branch(latch)

        builder.position_at_end(latch)
        cnt_next = builder.phi(i64)
        cnt_next.add_incoming(cnt, loop)
        cnt_next.add_incoming(c, record)
        i_next = builder.add(i, ir.Constant(i64, _VEC))
        i.add_incoming(i_next, latch)
        cnt.add_incoming(cnt_next, latch)
        builder.cbranch(builder.icmp_signed("<", i_next, n4), loop, done)

        builder.position_at_end(done)
        fin = builder.phi(i64)
        fin.add_incoming(ir.Constant(i64, 0), entry)
        fin.add_incoming(cnt_next, latch)
        return fin

    return sig, codegen


@njit(inline="always", cache=True)
def fast_pass(n, raw, y, zt):
    """The fast path for the words ``raw[:n]``; returns ``count``, the number rejected.

    Accepted word ``i``: ``y[i] = candidate(raw[i], zt)[0]``. Rejected words: their positions,
    in increasing order, overwrite ``raw[:count]``, and ``y[i]`` holds the word's bits (see
    :func:`slow_pass`). Groups of 4 by :func:`_fast_pass_ir` (SIMD), the last ``n % 4`` by
    :func:`candidate`. ``raw`` uint64, ``y`` float64, ``zt`` int64 ``(2**bits, 4)``, all
    C-contiguous and not overlapping.
    """
    if raw.shape[0] < n or y.shape[0] < n or zt.shape[1] != 4 \
            or zt.shape[0] & (zt.shape[0] - 1) != 0:
        raise ValueError("fast_pass: arrays too short or table of the wrong shape")
    n4 = n - n % _VEC
    count = _fast_pass_ir(raw, y, zt, n4, uint64(zt.shape[0] - 1))
    for i in range(n4, n):
        r = raw[i]
        v, ok = candidate(r, zt)
        if ok:
            y[i] = v
        else:
            y[i] = f64_from_bits(np.int64(r))
            raw[count] = uint64(i)
            count += 1
    return count


@njit(inline="always", cache=True)
def slow_pass(count, raw, y, zt, fh, par, s0, s1, s2, s3):
    """Complete the ``count`` words :func:`fast_pass` rejected, in order of position, with the
    scalar stream; returns it."""
    for k in range(count):
        i = np.int64(raw[k])
        v, s0, s1, s2, s3 = slow(uint64(bits_from_f64(y[i])), zt, fh, par, s0, s1, s2, s3)
        y[i] = v
    return s0, s1, s2, s3


@njit(cache=True)
def slow(r, zt, fh, par, s0, s1, s2, s3):
    """Complete a word ``r`` that the fast path rejected: ``(y, s0, s1, s2, s3)``.

    Base slot: a tail sample (always accepted). Box: the wedge test ``u < h(y)`` with ``u``
    uniform on the box's height range; if it fails, fresh ziggurat attempts (fast path, then
    this test) from the scalar stream until one is accepted.
    """
    mask = uint64(zt.shape[0] - 1)
    m = par[P_M]
    inv_s = 1.0 / par[P_SIGMA]
    while True:
        y, ok = candidate(r, zt)
        if ok:
            return y, s0, s1, s2, s3
        j = np.int64(r & mask)
        if j == 0:
            u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
            if u < par[P_QL]:
                z, s0, s1, s2, s3 = normal_tail(par[P_AL], s0, s1, s2, s3)
                z = -z
            else:
                z, s0, s1, s2, s3 = normal_tail(par[P_AR], s0, s1, s2, s3)
            return math.exp(par[P_SIGMA] * z - par[P_HALFVAR]), s0, s1, s2, s3
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        lo = fh[j, 0]
        if lo + u * (fh[j, 1] - lo) < math.exp(-0.5 * (math.log(y / m) * inv_s) ** 2):
            return y, s0, s1, s2, s3
        r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)


@njit(inline="always", cache=True)
def lognormal_batch(n, raw, y, lanes, stream, s0, s1, s2, s3, zt, fh, par):
    """Fill ``y[:n]`` with mean-one lognormals ``exp(sigma Z - sigma^2/2)`` (tables of sigma).

    First words from the bulk stream ``lanes[stream]`` (``raw`` as scratch, at least
    ``round_up(n, LANES)`` words; overwritten), a SIMD fast pass (:func:`fast_pass`) that
    records the rejected positions, then those completed by :func:`slow` in order of position
    with the scalar stream ``(s0, s1, s2, s3)``, which is returned (:func:`slow_pass`). Each
    value has the mean-one lognormal law, independently. Same values and state as the
    NaN-marking :func:`lognormal_batch_reference`.
    """
    fill_u64(lanes, stream, raw, n)
    count = fast_pass(n, raw, y, zt)
    return slow_pass(count, raw, y, zt, fh, par, s0, s1, s2, s3)


@njit(inline="always", cache=True)
def lognormal_batch_reference(n, raw, y, lanes, stream, s0, s1, s2, s3, zt, fh, par):
    """:func:`lognormal_batch` as plain Numba loops, rejects marked NaN then completed: the
    same values and final state, ~2x slower. For tests."""
    fill_u64(lanes, stream, raw, n)
    rejected = 0
    for i in range(n):
        v, ok = candidate(raw[i], zt)
        y[i] = v if ok else np.nan
        rejected += np.int64(not ok)
    if rejected:
        for i in range(n):
            if np.isnan(y[i]):
                v, s0, s1, s2, s3 = slow(raw[i], zt, fh, par, s0, s1, s2, s3)
                y[i] = v
    return s0, s1, s2, s3
