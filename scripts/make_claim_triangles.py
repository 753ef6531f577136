"""Generate the synthetic JKN 2014 claim-count triangles (inpatient and outpatient).

The seed paper's 2014 claim triangles are not published; these stand-ins are built so that the
deterministic chain-ladder completion factor of the 2014 origins is about the paper's 1.069.

Construction (all of it deterministic; seed ``SEED``):

* **Origins**: the 12 service months 2014-01 .. 2014-12. **Development lag** ``k = 1, 2, ...``
  counts months since the start of the service month (lag 1 = reported in the service month).
* **Valuation**: end of June 2015 (the paper's data cut-off, mid-2015): origin 2014-01 is seen at
  lags 1..18, origin 2014-12 at lags 1..7 (a trapezoid, 18 development months).
* **Ultimate counts** per origin month are proportional to membership, which grows linearly from
  117.054 M (Jan) to 133.424 M (Dec 2014), and their annual total is the paper's reported 2014
  count times 1.069 (IP 5,148,768; OP 26,477,742): so the reported-to-date total is close to the
  national figure and the IBNR close to the paper's 6.9 %.
* **Reporting delay**: a gamma-distributed delay (shape ``a``, scale ``theta`` months),
  discretised to monthly lags and truncated at lag 18 (claims later than 18 months are taken to be
  nil), so that the chain-ladder with no tail is unbiased. ``a`` is fixed per care type (inpatient
  claims need verification of the hospital episode and are slower to start; outpatient claims are
  batched monthly), and ``theta`` is solved by bisection so that the *expected* completion factor
  sum(ultimate) / sum(reported at valuation) over 2014 equals ``TARGET`` = 1.069.
* **Noise**: each incremental cell is over-dispersed Poisson in the quasi-likelihood sense:
  gamma with mean ``mu`` and variance ``phi * mu`` (``phi`` per care type, in counts), drawn from
  one fixed matrix of standard normals by the Wilson-Hilferty transform
  ``mu * (1 - 1/(9k) + z / sqrt(9k))**3``, ``k = mu / phi``, and rounded to whole claims. The
  cells' coefficient of variation is 2-10 %, and the ODP bootstrap standard deviation of the
  completion factor is about half a percentage point (99.5 % interval about +-1.5 points),
  comparable with the spread of the paper's methods (6.9 % to 11 %).
* **Calibration on the noisy data**: because the noise is a smooth function of ``theta`` (the
  normals are fixed), ``theta`` is solved by bisection so that the chain-ladder completion factor
  *of the generated triangle* is ``TARGET`` (to about 1e-4), not only its expectation.

Run ``python scripts/make_claim_triangles.py`` from the repository root; it rewrites
``configs/data/triangles/{ip,op}_claims_2014.csv`` (long form, cumulative) and prints the
chain-ladder completion factors.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jkn_risk.reserving.chainladder import Chainladder  # noqa: E402
from jkn_risk.reserving.triangle import read_triangle, triangle_from_array, write_triangle  # noqa: E402

SEED = 20140101
TARGET = 1.069
N_ORIGIN = 12
N_DEV = 18
MEMBERS = np.linspace(117.054, 133.424, N_ORIGIN)  # million, Jan..Dec 2014 (linear)
CARE = {
    # care: (reported 2014 national count, delay shape a, dispersion phi [counts])
    "ip": (5_148_768, 1.6, 1000.0),
    "op": (26_477_742, 1.2, 4000.0),
}
OUT = ROOT / "configs" / "data" / "triangles"


def delay_pmf(a: float, theta: float) -> np.ndarray:
    """Reporting-delay probabilities of lags 1..N_DEV (gamma delay in months, truncated)."""
    edges = stats.gamma.cdf(np.arange(0, N_DEV + 1), a, scale=theta)
    p = np.diff(edges)
    return p / p.sum()


def n_observed() -> np.ndarray:
    """Observed lags per origin at the valuation (end of June 2015): 18, 17, ..., 7."""
    return np.array([N_DEV - i for i in range(N_ORIGIN)])


def expected_cf(a: float, theta: float) -> float:
    F = np.cumsum(delay_pmf(a, theta))
    w = MEMBERS / MEMBERS.sum()
    return float(1.0 / np.sum(w * F[n_observed() - 1]))


def solve_theta(a: float) -> float:
    lo, hi = 0.05, 20.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if expected_cf(a, mid) > TARGET:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _triangle(care: str, theta: float, z: np.ndarray):
    reported, a, phi = CARE[care]
    ult = reported * TARGET * MEMBERS / MEMBERS.sum()
    mu = ult[:, None] * delay_pmf(a, theta)[None, :]
    k9 = 9.0 * mu / phi
    inc = np.round(mu * np.maximum(1.0 - 1.0 / k9 + z / np.sqrt(k9), 0.0) ** 3)
    L = n_observed()
    inc[np.arange(N_DEV)[None, :] >= L[:, None]] = np.nan
    origin = [f"2014-{m:02d}" for m in range(1, 13)]
    return triangle_from_array(inc, origin, np.arange(1, N_DEV + 1), grain="OMDM",
                               source=f"{care}_claims_2014.csv", cumulative=False)


def _cl_cf(tri) -> float:
    cl = Chainladder().fit(tri)
    return float(cl.ultimate_.sum() / cl.latest_diagonal_.sum())


def make(care: str, rng: np.random.Generator):
    _, a, phi = CARE[care]
    z = rng.standard_normal((N_ORIGIN, N_DEV))
    lo, hi = 0.5 * solve_theta(a), 2.0 * solve_theta(a)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _cl_cf(_triangle(care, mid, z)) > TARGET:
            hi = mid
        else:
            lo = mid
    theta = 0.5 * (lo + hi)
    return _triangle(care, theta, z), theta, a, phi


def main() -> None:
    rng = np.random.default_rng(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    for care in CARE:
        tri, theta, a, phi = make(care, rng)
        path = OUT / f"{care}_claims_2014.csv"
        label = {"ip": "inpatient", "op": "outpatient"}[care]
        header = (
            f"SYNTHETIC DATA - not BPJS Kesehatan claims. JKN 2014 {label} claim counts by service "
            "month (origin) and reporting lag.\n"
            "Made by scripts/make_claim_triangles.py (deterministic, seed "
            f"{SEED}); see configs/data/triangles/README.md.\n"
            f"Ultimate = reported 2014 national count {CARE[care][0]:,} x {TARGET}, spread over "
            "months in proportion to membership (117.1 M Jan -> 133.4 M Dec).\n"
            f"Reporting delay: gamma(shape={a}, scale={theta:.4f} months) discretised to lags "
            f"1..{N_DEV}, truncated at {N_DEV}; noise: gamma, variance = {phi:g} x mean, rounded.\n"
            "Valuation: end of June 2015. development = lag in months, 1 = the service month "
            "itself. Values are cumulative counts."
        )
        write_triangle(tri, path, header=header, cumulative=True)
        back = read_triangle(path)
        cl = Chainladder().fit(back)
        cf = cl.ultimate_.sum() / cl.latest_diagonal_.sum()
        print(f"{care}: theta={theta:.4f} expected CF={expected_cf(a, theta):.4f} "
              f"chain-ladder CF={cf:.4f} reported={cl.latest_diagonal_.sum():,.0f} "
              f"IBNR={cl.ibnr_total_:,.0f}")


if __name__ == "__main__":
    main()
