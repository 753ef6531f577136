"""Alias tables for the case-group draw (Walker 1977, Vose 1991): built once per case mix, in
numpy around a small Numba construction, outside the hot loops.

- :func:`build_alias_table`: Vose's stable construction for a discrete distribution;
- :func:`alias_probabilities`: the distribution a table actually encodes (collective mode draws
  from it, so both modes sample the same distribution);
- :func:`pow2_alias_tables`: the kernels' internal form, over a power-of-two number of columns
  with uint64 thresholds: one 64-bit draw per event, whose top bits pick the column and an
  integer comparison of the rest keeps or aliases.
"""
from __future__ import annotations

import numpy as np
from numba import njit

import jkn_risk.rng  # noqa: F401  (installs the package's Numba cache locator first)

__all__ = ["build_alias_table", "alias_probabilities", "pow2_alias_tables"]


# ---------------------------------------------------------------------------------------------
# Alias tables (plain numpy; built once per case mix, outside the kernels)
# ---------------------------------------------------------------------------------------------
def build_alias_table(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for a discrete distribution.

    Parameters
    ----------
    prob : ndarray(float64, (k,))
        Non-negative weights (normalised here), ``k >= 1``, positive sum.

    Returns
    -------
    alias_prob : ndarray(float64, (k,))
        Probability of keeping column ``j`` (in ``[0, 1]``).
    alias_index : ndarray(int64, (k,))
        The alternative outcome of column ``j``.

    Notes
    -----
    Drawing ``j`` uniformly on ``0..k-1`` and keeping it with probability ``alias_prob[j]``
    (else ``alias_index[j]``) returns ``g`` with probability ``prob[g] / prob.sum()``, exact up
    to float64 rounding of the table (:func:`alias_probabilities` recovers the probabilities
    the table actually encodes; it is what collective mode uses, so both modes sample the
    same distribution). Vose's stable variant: leftover columns get probability 1.
    """
    p = np.asarray(prob, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("prob must be a non-empty 1-d array")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("prob must be finite, non-negative and have a positive sum")
    k = p.size
    alias_prob = np.ones(k, dtype=np.float64)
    alias_index = np.arange(k, dtype=np.int64)
    _vose(p * (k / p.sum()), alias_prob, alias_index)
    return alias_prob, alias_index


@njit(inline="always", cache=True)
def _push(i, is_small, small, large, ns, nl):
    """Push column ``i`` on the small or the large stack; returns the new stack heights."""
    if is_small:
        small[ns] = i
        return ns + 1, nl
    large[nl] = i
    return ns, nl + 1


@njit(cache=True)
def _vose(scaled, alias_prob, alias_index):
    """Vose's construction in place (``alias_prob`` ones, ``alias_index`` identity on entry)."""
    k = scaled.shape[0]
    small = np.empty(k, dtype=np.int64)
    large = np.empty(k, dtype=np.int64)
    ns = nl = 0
    for i in range(k):
        ns, nl = _push(i, scaled[i] < 1.0, small, large, ns, nl)
    while ns > 0 and nl > 0:
        ns -= 1
        sm = small[ns]
        nl -= 1
        g = large[nl]
        alias_prob[sm] = scaled[sm]
        alias_index[sm] = g
        scaled[g] = (scaled[g] + scaled[sm]) - 1.0
        ns, nl = _push(g, scaled[g] < 1.0, small, large, ns, nl)
    # Whatever is left has scaled weight 1 up to rounding: it keeps its column (the defaults).


def alias_probabilities(alias_prob: np.ndarray, alias_index: np.ndarray) -> np.ndarray:
    """The distribution an alias table encodes: ``p[g] = (q[g] + sum_{j: a[j]=g} (1 - q[j])) / k``.

    Parameters
    ----------
    alias_prob : ndarray(float64, (k,))
    alias_index : ndarray(int64, (k,))

    Returns
    -------
    ndarray(float64, (k,))
    """
    q = np.asarray(alias_prob, dtype=np.float64)
    a = np.asarray(alias_index, dtype=np.int64)
    k = q.size
    p = q.copy()
    np.add.at(p, a, 1.0 - q)
    return p / k



# ---------------------------------------------------------------------------------------------
# Power-of-two alias tables with integer thresholds (the kernels' internal form)
# ---------------------------------------------------------------------------------------------
def _pow2_alias_row(p, bits, thr, ali):
    """Alias table over ``2**bits`` columns for ``p`` (zero-padded), with integer thresholds.

    The Vose construction is :func:`build_alias_table`'s; column ``j`` keeps ``j`` when the low
    ``64 - bits`` bits of a draw are below ``thr[j]`` (``floor(q_j 2**(64 - bits))``, or all
    ones when ``q_j = 1``), else ``ali[j]``.
    """
    padded = np.zeros(1 << int(bits))
    padded[: p.size] = p
    q, a = build_alias_table(padded)
    keep = q >= 1.0
    thr[: q.size] = np.where(keep, np.uint64(0xFFFFFFFFFFFFFFFF),
                             (q * 2.0 ** (64 - int(bits))).astype(np.uint64))
    ali[: q.size] = np.where(keep, np.arange(q.size), a)


def pow2_alias_tables(alias_prob, alias_index, n_groups):
    """Re-express padded alias tables as power-of-two tables with uint64 thresholds.

    The distribution is the one the given tables encode (:func:`alias_probabilities`). One
    64-bit draw ``v`` then picks column ``v >> (64 - bits)`` and compares its low
    ``64 - bits`` bits with the threshold: no float arithmetic and no bias beyond the
    2**-(64 - bits) quantisation of the keep probabilities.

    Returns
    -------
    thr : ndarray(uint64, (n_mix, 2**max_bits))
    ali : ndarray(int64, (n_mix, 2**max_bits))
    shift : ndarray(int64, (n_mix,))
        ``64 - bits`` per mix (``bits >= 1``).
    """
    n_mix = alias_prob.shape[0]
    bits = np.array([max(1, int(np.ceil(np.log2(max(int(n), 1))))) for n in n_groups],
                    dtype=np.int64)
    width = 1 << int(bits.max()) if n_mix else 2
    thr = np.zeros((n_mix, width), dtype=np.uint64)
    ali = np.zeros((n_mix, width), dtype=np.int64)
    for x in range(n_mix):
        ng = int(n_groups[x])
        p = alias_probabilities(alias_prob[x, :ng], alias_index[x, :ng])
        _pow2_alias_row(p, bits[x], thr[x], ali[x])
    return thr, ali, 64 - bits
