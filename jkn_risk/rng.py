"""Counter-based random streams keyed by the work, not the worker.

Every stream is a pure function of integers that name a piece of work, for example
``(seed, simulation, cell, member_block)``: the key is hashed with SplitMix64 into the
256-bit state of a xoshiro256** generator. Any split of the work into blocks, workers or
threads, any order and any resume therefore draws the same bits, and two scenarios run with
the same seed share their random numbers cell by cell (common random numbers).

The state is four ``uint64`` locals threaded through inlined helpers, never an array or a
shared ``Generator``: that keeps the hot loops free of reference counting and of data races
under ``prange``.

References: Steele, Lea & Flood (2014) SplitMix64; Blackman & Vigna (2018) xoshiro256**.
"""
from __future__ import annotations

import numpy as np
from numba import njit, uint64

__all__ = [
    "stream_key",
    "seed_state",
    "next_u64",
    "next_uniform",
    "uniforms_for",
    "TAG_CLAIMS",
    "TAG_IBNR",
    "TAG_BOOTSTRAP",
    "TAG_COLLECTION",
    "TAG_CLAIMS_NOISE",
]

# Stream tags: the first word of every key, so that streams of different purposes never meet.
TAG_CLAIMS = 1
TAG_IBNR = 2
TAG_BOOTSTRAP = 3
TAG_COLLECTION = 4
TAG_CLAIMS_NOISE = 5

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(uint64(uint64), inline="always", cache=True)
def _mix64(z):
    """SplitMix64 finaliser: a bijective avalanche of one 64-bit word."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(inline="always", cache=True)
def stream_key(tag, seed, a, b, c):
    """Hash five integers (tag, seed, a, b, c) into one 64-bit stream key.

    Each word is absorbed in turn (``h = mix(h + GOLDEN + word)``), so the key depends on
    every word and on their order. Inputs may be any integer type; negative values are
    reinterpreted as two's complement.
    """
    h = _mix64(uint64(tag) + _GOLDEN)
    h = _mix64(h + _GOLDEN + uint64(seed))
    h = _mix64(h + _GOLDEN + uint64(a))
    h = _mix64(h + _GOLDEN + uint64(b))
    h = _mix64(h + _GOLDEN + uint64(c))
    return h


@njit(inline="always", cache=True)
def seed_state(key):
    """Expand a 64-bit key into a xoshiro256** state by SplitMix64 (never all zero)."""
    x = key
    x = x + _GOLDEN
    s0 = _mix64(x)
    x = x + _GOLDEN
    s1 = _mix64(x)
    x = x + _GOLDEN
    s2 = _mix64(x)
    x = x + _GOLDEN
    s3 = _mix64(x)
    return s0, s1, s2, s3


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always", cache=True)
def next_u64(s0, s1, s2, s3):
    """One xoshiro256** step: returns ``(value, s0, s1, s2, s3)``."""
    result = _rotl(s1 * uint64(5), 7) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(inline="always", cache=True)
def next_uniform(s0, s1, s2, s3):
    """A float64 uniform on [0, 1) with 53 random bits: returns ``(u, s0, s1, s2, s3)``."""
    v, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    return float(v >> uint64(11)) * _INV53, s0, s1, s2, s3


@njit(cache=True)
def _uniforms_for(tag, seed, ids, b, out):
    for i in range(ids.shape[0]):
        s0, s1, s2, s3 = seed_state(stream_key(tag, seed, ids[i], b, 0))
        u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        out[i] = u


def uniforms_for(tag: int, seed: int, ids, b: int = 0) -> np.ndarray:
    """One uniform on [0, 1) per id, each from its own stream keyed by (tag, seed, id, b).

    Parameters
    ----------
    tag : int
        Purpose of the stream (``TAG_IBNR``, ``TAG_COLLECTION`` ...).
    seed : int
        The run's seed.
    ids : array_like of int, shape (n,)
        Usually simulation indices.
    b : int
        A further key word (for example the care type).

    Returns
    -------
    ndarray(float64, (n,))
        Independent of how ``ids`` is split or ordered.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    out = np.empty(ids.shape[0], dtype=np.float64)
    _uniforms_for(np.int64(tag), np.int64(seed), ids, np.int64(b), out)
    return out
