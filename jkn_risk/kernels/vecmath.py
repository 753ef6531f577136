"""Bit-level helpers the kernels' vectorised loops need and Numba does not provide.

- :func:`fma`: ``a * b + c`` rounded once (LLVM's ``llvm.fma``), the same bits on every machine
  (the C library's ``fma`` stands in where the CPU has none, slowly). Letting LLVM contract
  ``a * b + c`` on its own (``fastmath``) would make the bits depend on the CPU the code was
  compiled for, and results must not.
- :func:`f64_from_bits`, :func:`bits_from_f64`: reinterpret between int64 and float64 (int/float
  conversions through the exponent bits vectorise on AVX2, where ``cvtsi2sd`` does not).
- :func:`row_columns_ir`: IR that loads the 32-byte table rows of 4 words and transposes them
  into 4 column vectors, for the hand-written SIMD passes of :mod:`jkn_risk.kernels.amounts`
  and :mod:`jkn_risk.kernels.lognormal`.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["fma", "f64_from_bits", "bits_from_f64", "row_columns_ir"]


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (IEEE 754 fusedMultiplyAdd), float64; vectorisable."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def f64_from_bits(typingctx, x):
    """Reinterpret an int64's bits as a float64 (no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def bits_from_f64(typingctx, x):
    """Reinterpret a float64's bits as an int64 (no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


def row_columns_ir(builder, words, i, table, row_of):
    """Emit IR for the table rows of the 4 words ``words[i:i + 4]``, as 4 column vectors.

    ``words`` and ``table`` are ``i64*`` (the table C-contiguous int64 ``(rows, 4)``: one
    32-byte row per slot); ``i`` is an ``i64`` value; ``row_of(builder, word)`` emits the row
    index of one ``i64`` word. Returns the columns ``(c0, c1, c2, c3)``, each ``<4 x i64>``
    holding that column of the 4 rows in word order (the same integers as scalar loads of
    ``table[row, c]``, so a pass built on them gives the scalar code's bits).

    Each row is loaded as two 16-byte halves straight into the 128-bit lanes they belong to (a
    load-and-insert does not use the shuffle port), then one in-lane unpack per column; the row
    indices come from scalar loads of the words (no vector-to-scalar extracts). One 32-byte load
    per row and a 4 x 4 transpose with cross-lane shuffles kept the single shuffle port busy
    (0.77 against 0.70 ns per word in the lognormal pass). A column the caller does not use is
    dropped by LLVM.
    """
    i32, i64 = ir.IntType(32), ir.IntType(64)
    i2 = ir.VectorType(i64, 2)

    def shuf(a, b, idx):
        return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(i32, 4), idx))

    lo, hi = [], []
    for k in range(4):
        wk = builder.load(builder.gep(words, [builder.add(i, ir.Constant(i64, k))]), align=8)
        p = builder.gep(table, [builder.shl(row_of(builder, wk), ir.Constant(i64, 2))])
        lo.append(builder.load(builder.bitcast(p, i2.as_pointer()), align=8))
        hi.append(builder.load(builder.bitcast(builder.gep(p, [ir.Constant(i64, 2)]),
                                               i2.as_pointer()), align=8))
    a02 = shuf(lo[0], lo[2], [0, 1, 2, 3])
    a13 = shuf(lo[1], lo[3], [0, 1, 2, 3])
    b02 = shuf(hi[0], hi[2], [0, 1, 2, 3])
    b13 = shuf(hi[1], hi[3], [0, 1, 2, 3])
    return (shuf(a02, a13, [0, 4, 2, 6]), shuf(a02, a13, [1, 5, 3, 7]),
            shuf(b02, b13, [0, 4, 2, 6]), shuf(b02, b13, [1, 5, 3, 7]))
