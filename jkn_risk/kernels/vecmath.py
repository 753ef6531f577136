"""Bit-level helpers the kernels' vectorised loops need and Numba does not provide.

- :func:`fma`: ``a * b + c`` rounded once (LLVM's ``llvm.fma``), the same bits on every machine
  (the C library's ``fma`` stands in where the CPU has none, slowly). Letting LLVM contract
  ``a * b + c`` on its own (``fastmath``) would make the bits depend on the CPU the code was
  compiled for, and results must not.
- :func:`f64_from_bits`, :func:`bits_from_f64`: reinterpret between int64 and float64 (int/float
  conversions through the exponent bits vectorise on AVX2, where ``cvtsi2sd`` does not).
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["fma", "f64_from_bits", "bits_from_f64"]


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
