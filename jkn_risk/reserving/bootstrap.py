"""Over-dispersed Poisson bootstrap of the chain-ladder (England & Verrall 2002; Shapland 2016).

Method
------
1. Fit the volume-weighted chain-ladder; fitted incrementals ``m_ij`` of the upper triangle come
   from the latest diagonal by backward recursion.
2. Unscaled Pearson residuals ``r_ij = (C_ij - m_ij) / sqrt(|m_ij|)``; scale
   ``phi = sum r_ij^2 / (N - p)`` with ``N`` observed cells and ``p = n_origin + n_dev - 1``.
3. Residual adjustment: by the hat matrix of the ODP GLM (default; Shapland eq. 3.23,
   ``r_ij * sqrt(1 / |1 - h_ii|)``) or, with ``hat_adj=False``, by degrees of freedom
   ``r_ij * sqrt(N / (N - p))`` (England & Verrall 2002). chainladder-python applies *no*
   adjustment when ``hat_adj=False``; we follow the literature.
4. The residual pool leaves out the zero-valued corner residuals (cells alone in their origin or
   development period, ``h = 1``; ``drop_zero_corners``) and cells with a zero fitted value;
   ``center=True`` subtracts the pool mean (chainladder-python always centres).
5. Per replicate (in Numba): resample a residual for every observed cell, pseudo-incrementals
   ``m + r* sqrt(|m|)``, cumulate, refit the volume-weighted factors, project the future
   incrementals from the pseudo latest diagonal, and add process error.

Negative incrementals
---------------------
Kept, never dropped (Shapland 2016, section 4.1 "negative incremental values", the
"absolute value" variant used by chainladder-python): residuals divide by ``sqrt(|m|)``, the
hat-matrix weight is ``m`` itself, pseudo-data are ``m + r* sqrt(|m|)``, and process error on a
future incremental of mean ``m`` is ``sign(m) * phi * Gamma(|m| / phi)`` (or
``sign(m) * phi * Poisson(|m| / phi)``), so that its mean is ``m`` and its variance ``phi |m|``.

Outputs
-------
The total IBNR of each replicate is the sum of its simulated future incrementals; its ultimate is
the *observed* latest diagonal plus that IBNR (the predictive distribution of England & Verrall:
paid or reported to date is known). The completion factor of a set of origins is their
(latest + simulated IBNR) / latest.

Random streams
--------------
Replicate ``r`` draws only from the stream ``stream_key(TAG_BOOTSTRAP, seed, r, 0, 0)``, in a
fixed order (residual indices row by row, then process error row by row), so results are
bit-identical however the replicates are chunked or threaded. Only O(n_sims) floats are kept.
"""
from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numba import njit, prange

from ..rng import TAG_BOOTSTRAP, next_uniform, seed_state, stream_key
from ._sampling import gamma, poisson
from .chainladder import Chainladder, as_frame, fitted_incremental, origin_weight
from .triangle import Triangle

__all__ = ["BootstrapODP"]

_PROCESS_CODES = {"none": 0, "gamma": 1, "odp": 2}
_CHUNK = 512


@njit(parallel=True, cache=True)
def _bootstrap_kernel(m, sqm, n_obs, pool, scale, process, seed, first, weight, out_total,
                      out_sel):
    """Resample, refit and project ``out_total.shape[0]`` replicates ``first, first + 1, ...``.

    Inputs are assumed valid: ``m``, ``sqm`` (fitted incrementals and ``sqrt(|m|)``, NaN-free in
    the observed cells), ``n_obs`` (observed lags per origin, non-increasing), a non-empty
    ``pool``, ``scale > 0``, ``process`` in {0 none, 1 gamma, 2 odp}, ``weight`` (n_origin,) 0/1.
    Writes the total IBNR and the ``weight``-ed IBNR of each replicate.
    """
    n_o, n_d = m.shape
    n = out_total.shape[0]
    n_pool = pool.shape[0]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        cum = np.empty((n_o, n_d))
        f = np.empty(n_d)
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        for r in range(lo, hi):
            s0, s1, s2, s3 = seed_state(stream_key(TAG_BOOTSTRAP, seed, first + r, 0, 0))
            for i in range(n_o):
                acc = 0.0
                for j in range(n_obs[i]):
                    u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
                    k = int(u * n_pool)
                    if k >= n_pool:
                        k = n_pool - 1
                    acc += m[i, j] + pool[k] * sqm[i, j]
                    cum[i, j] = acc
            for j in range(n_d - 1):
                num = 0.0
                den = 0.0
                for i in range(n_o):
                    if n_obs[i] > j + 1:
                        num += cum[i, j + 1]
                        den += cum[i, j]
                f[j] = num / den
            total = 0.0
            sel = 0.0
            for i in range(n_o):
                prev = cum[i, n_obs[i] - 1]
                res = 0.0
                for j in range(n_obs[i], n_d):
                    nxt = prev * f[j - 1]
                    mu = nxt - prev
                    prev = nxt
                    if process == 0:
                        res += mu
                    else:
                        a = abs(mu) / scale
                        if process == 1:
                            x, s0, s1, s2, s3 = gamma(a, s0, s1, s2, s3)
                        else:
                            x, s0, s1, s2, s3 = poisson(a, s0, s1, s2, s3)
                        if mu < 0.0:
                            x = -x
                        res += x * scale
                total += res
                sel += res * weight[i]
            out_total[r] = total
            out_sel[r] = sel


def _design_matrix(n_obs: np.ndarray, n_d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ODP GLM design (origin levels, development levels 2..n): rows in origin-major order."""
    n_o = n_obs.size
    ii, jj = [], []
    for i in range(n_o):
        for j in range(n_obs[i]):
            ii.append(i)
            jj.append(j)
    ii, jj = np.array(ii), np.array(jj)
    X = np.zeros((ii.size, n_o + n_d - 1))
    X[np.arange(ii.size), ii] = 1.0
    dev = jj > 0
    X[np.flatnonzero(dev), n_o + jj[dev] - 1] = 1.0
    return X, ii, jj


class BootstrapODP:
    """ODP bootstrap of the chain-ladder reserve.

    Parameters
    ----------
    n_sims : int
        Number of bootstrap replicates.
    random_state : int
        Seed of the counter-based streams (replicate ``r`` uses key (seed, r)).
    hat_adj : bool
        Hat-matrix residual adjustment (True) or degrees-of-freedom adjustment (False).
    process : {"gamma", "odp", "none"}
        Process error on the future incrementals.
    center : bool
        Subtract the mean of the residual pool.
    drop_zero_corners : bool
        Leave the zero corner residuals (and zero-fitted cells) out of the pool.

    Attributes (after ``fit``)
    --------------------------
    triangle_, ldf_, cdf_, latest_diagonal_, ultimate_, ibnr_ : the deterministic chain-ladder
        results, labelled by origin and development (see :class:`Chainladder`).
    fitted_ : pandas.DataFrame(float64, (n_origin, n_dev)) fitted incrementals, NaN in the future.
    unscaled_residuals_ : pandas.DataFrame(float64, (n_origin, n_dev)) Pearson residuals.
    hat_ : pandas.DataFrame(float64, (n_origin, n_dev)) hat-matrix diagonal (NaN if
        ``hat_adj=False``).
    adjusted_residuals_ : pandas.DataFrame(float64, (n_origin, n_dev)).
    residuals_ : ndarray(float64, (n_pool,)) the pool resampled from (cells have no labels left).
    scale_ : float
        Scale parameter phi (from unadjusted residuals, N - p degrees of freedom).
    ibnr_samples_ : ndarray(float64, (n_sims,)) total IBNR per replicate (replicate r at r).
    ultimate_samples_ : ndarray(float64, (n_sims,)) observed latest total + IBNR per replicate.
    """

    def __init__(self, n_sims: int = 1000, random_state: int = 0, hat_adj: bool = True,
                 process: Literal["gamma", "odp", "none"] = "gamma", center: bool = False,
                 drop_zero_corners: bool = True):
        self.n_sims = n_sims
        self.random_state = random_state
        self.hat_adj = hat_adj
        self.process = process
        self.center = center
        self.drop_zero_corners = drop_zero_corners

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, tri: Triangle) -> "BootstrapODP":
        if self.process not in _PROCESS_CODES:
            raise ValueError(f"process must be one of {sorted(_PROCESS_CODES)}, "
                             f"not {self.process!r}")
        if int(self.n_sims) < 1:
            raise ValueError(f"n_sims must be >= 1, not {self.n_sims}")
        cl = Chainladder().fit(tri)
        self._cl = cl
        self.triangle_ = tri
        self.ldf_, self.cdf_ = cl.ldf_, cl.cdf_
        self.ultimate_, self.ibnr_ = cl.ultimate_, cl.ibnr_
        self.latest_diagonal_ = cl.latest_diagonal_
        n_o, n_d = tri.shape
        n_obs = tri.n_observed
        m = fitted_incremental(tri, cl.ldf_.to_numpy())
        inc = tri.incremental
        obs = tri.observed
        sqm = np.sqrt(np.abs(m))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(obs & (m != 0), (inc - m) / sqm, np.where(obs, 0.0, np.nan))
        N = int(obs.sum())
        p = n_o + n_d - 1
        if N - p <= 0:
            raise ValueError(f"{tri.source or 'triangle'}: {N} cells for {p} parameters: "
                             "no degrees of freedom for the scale parameter")
        self.fitted_ = as_frame(m, tri)
        self.unscaled_residuals_ = as_frame(r, tri)
        self.scale_ = float(np.nansum(r ** 2) / (N - p))
        X, ii, jj = _design_matrix(n_obs, n_d)
        hat = np.full((n_o, n_d), np.nan)
        use_hat = bool(self.hat_adj)
        if use_hat:
            w = m[ii, jj]
            xtwx = X.T @ (w[:, None] * X)
            try:
                xtwx_inv = np.linalg.inv(xtwx)
            except np.linalg.LinAlgError:
                warnings.warn(f"{tri.source or 'triangle'}: singular hat matrix; using the "
                              "degrees-of-freedom adjustment instead", RuntimeWarning,
                              stacklevel=2)
                use_hat = False
        if use_hat:
            h = np.einsum("ij,jk,ik->i", X, xtwx_inv, X) * w
            hat[ii, jj] = h
            with np.errstate(divide="ignore"):
                fac = np.where(np.abs(1.0 - h) > 1e-10, np.sqrt(1.0 / np.abs(1.0 - h)), 0.0)
            adj = np.full((n_o, n_d), np.nan)
            adj[ii, jj] = r[ii, jj] * fac
        else:
            adj = r * np.sqrt(N / (N - p))
        self.hat_ = as_frame(hat, tri)
        self.adjusted_residuals_ = as_frame(adj, tri)
        keep = obs.copy()
        if self.drop_zero_corners:
            col_n = obs.sum(axis=0)
            alone = (n_obs[:, None] == 1) | (col_n[None, :] == 1)
            keep &= ~alone & (m != 0)
        pool = adj[keep]
        if pool.size == 0:
            raise ValueError("empty residual pool")
        if self.center:
            pool = pool - pool.mean()
        self.residuals_ = np.ascontiguousarray(pool)
        self._m = np.ascontiguousarray(np.where(obs, m, 0.0))
        self._sqm = np.ascontiguousarray(np.where(obs, sqm, 0.0))
        self._n_obs = np.ascontiguousarray(n_obs, dtype=np.int64)
        total, _ = self._run(0, int(self.n_sims), np.ones(n_o))
        self.ibnr_samples_ = total
        self.ultimate_samples_ = float(cl.latest_diagonal_.sum()) + total
        return self

    def _run(self, first: int, n: int, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_total = np.empty(n)
        out_sel = np.empty(n)
        _bootstrap_kernel(self._m, self._sqm, self._n_obs, self.residuals_, float(self.scale_),
                          np.int64(_PROCESS_CODES[self.process]), np.int64(self.random_state),
                          np.int64(first), np.ascontiguousarray(weight, dtype=np.float64),
                          out_total, out_sel)
        return out_total, out_sel

    def sample(self, first: int, n: int, origins=None) -> tuple[np.ndarray, np.ndarray]:
        """Replicates ``first .. first + n - 1`` again (identical bits to ``fit``'s).

        Returns
        -------
        (total_ibnr, selected_ibnr) : two ndarray(float64, (n,))
        """
        return self._run(int(first), int(n), self._origin_weight(origins))

    def _origin_weight(self, origins) -> np.ndarray:
        return origin_weight(self.triangle_.origin, origins)

    def completion_factor_samples(self, origins=None) -> np.ndarray:
        """Per replicate, (latest + simulated IBNR) / latest summed over ``origins``.

        Parameters
        ----------
        origins : None, str or iterable of str
            None: all origins; a string: the origins whose label starts with it (``"2014"``);
            otherwise the origin labels.

        Returns
        -------
        ndarray(float64, (n_sims,)) [1]
            The base-year completion factor used as parameter uncertainty.
        """
        w = self._origin_weight(origins)
        latest = float(np.sum(self.latest_diagonal_.to_numpy() * w))
        if w.all():  # every origin: the stored totals (identical bits, no rerun)
            sel = self.ibnr_samples_
        else:
            _, sel = self._run(0, int(self.n_sims), w)
        return (latest + sel) / latest

    def completion_factor(self, origins=None) -> float:
        """Deterministic chain-ladder completion factor (ultimate / latest) over ``origins``
        (:meth:`Chainladder.completion_factor`)."""
        return self._cl.completion_factor(origins)
