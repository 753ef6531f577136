"""The Numba kernel against the slow member-by-member numpy reference, in distribution."""
import numpy as np
import pytest
from scipy import stats

from tests.kernel_reference import ad_pvalue as _ad_pvalue

from jkn_risk.kernels import claims as K
from tests.kernel_reference import one_cell, reference_sims

# Family-wise error 1% over the module's 12 cases x 5 columns x 2 tests (Bonferroni) for KS.
# scipy's Anderson-Darling p-value is floored at 0.001, so AD is applied at that floor and only
# to the two money totals (uncapped, capped): the quantities the model exists to produce.
ALPHA = 0.01 / 120
AD_FLOOR = 1e-3
PROBS = np.array([0.4, 0.3, 0.2, 0.07, 0.03])
TARIFF = np.array([800_000, 2_000_000, 5_500_000, 15_000_000, 60_000_000])
CAP = 20_000_000


def _compare(a, b, cols):
    for j in cols:
        x, y = a[:, j], b[:, j]
        if np.ptp(x) == 0 and np.ptp(y) == 0:  # e.g. members over cap without a cap
            assert x[0] == y[0], j
            continue
        assert stats.ks_2samp(x, y).pvalue > ALPHA, (j, x.mean(), y.mean())
        if j in (K.OUT_CLAIMS_UNCAPPED, K.OUT_CLAIMS):
            assert _ad_pvalue(x, y) > AD_FLOOR, j


@pytest.mark.parametrize("freq,disp", [(K.FREQ_POISSON, 1.0), (K.FREQ_NEGBIN, 1.0),
                                       (K.FREQ_NEGBIN, 3.0)])
@pytest.mark.parametrize("sigma", [0.0, 0.3])
@pytest.mark.parametrize("cap", [K.NO_CAP, CAP])
def test_kernel_matches_reference_in_distribution(freq, disp, sigma, cap):
    m, rate, n_sim = 4_000, 0.5, 600
    ker = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=n_sim, frequency=freq,
                   dispersion=disp, sigma=sigma, cap=cap, seed=77)
    ref = reference_sims(78, n_sim, m, rate, freq, disp, PROBS, TARIFF, sigma, cap)
    _compare(ker, ref, range(5))


@pytest.mark.slow
@pytest.mark.parametrize("freq", [K.FREQ_POISSON, K.FREQ_NEGBIN])
def test_kernel_matches_reference_long(freq):
    m, rate, n_sim = 20_000, 0.5, 4_000
    ker = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=n_sim, frequency=freq,
                   sigma=0.3, cap=CAP, seed=79)
    ref = reference_sims(80, n_sim, m, rate, freq, 1.0, PROBS, TARIFF, 0.3, CAP)
    _compare(ker, ref, range(5))
