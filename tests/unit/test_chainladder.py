"""Chain-ladder and Mack: exact answers on a small triangle and Mack's (1993) published RAA example."""
from pathlib import Path

import numpy as np
import pytest

from jkn_risk.reserving.chainladder import Chainladder, MackChainladder, fitted_incremental
from jkn_risk.reserving.triangle import read_triangle, triangle_from_array

DATA = Path(__file__).resolve().parents[1] / "data" / "triangles"

SMALL = np.array([[100.0, 150.0, 165.0],
                  [110.0, 160.0, np.nan],
                  [120.0, np.nan, np.nan]])


def test_chainladder_small_by_hand():
    cl = Chainladder().fit(triangle_from_array(SMALL))
    f1 = (150 + 160) / (100 + 110)
    f2 = 165 / 150
    np.testing.assert_allclose(cl.ldf_, [f1, f2], rtol=1e-15)
    np.testing.assert_allclose(cl.cdf_, [f1 * f2, f2], rtol=1e-15)
    np.testing.assert_allclose(cl.ultimate_, [165, 160 * f2, 120 * f1 * f2], rtol=1e-15)
    np.testing.assert_allclose(cl.ibnr_, [0, 160 * f2 - 160, 120 * f1 * f2 - 120], rtol=1e-14)
    assert cl.ibnr_total_ == pytest.approx(cl.ibnr_.sum(), rel=1e-15)


def test_fitted_attributes_keep_their_labels():
    """Per-origin results are indexed by the triangle's origins, factors by development; only
    fitted attributes end in an underscore (chainladder-python's convention)."""
    tri = read_triangle(DATA / "raa.csv")
    mk = MackChainladder().fit(tri)
    assert mk.ultimate_.index.name == "origin" and list(mk.ultimate_.index) == list(tri.origin)
    assert mk.ibnr_.loc["1990"] == pytest.approx(mk.ultimate_.loc["1990"] - mk.latest_diagonal_.loc["1990"])
    assert mk.mack_std_err_.index.equals(mk.ibnr_.index)
    assert list(mk.ldf_.index[:2]) == ["12-24", "24-36"] and mk.ldf_.index.name == "development"
    assert list(mk.cdf_.index[:2]) == ["12-Ult", "24-Ult"] and mk.sigma_.index.equals(mk.ldf_.index)
    assert mk.full_triangle_.shape == tri.shape and mk.full_triangle_.index.equals(mk.ultimate_.index)
    assert list(mk.full_triangle_.columns) == list(tri.development)
    before = set(vars(MackChainladder()))
    assert all(not k.endswith("_") for k in before)
    assert all(k.endswith("_") or k.startswith("_") for k in set(vars(mk)) - before)


def test_fitted_incrementals_end_on_latest_diagonal():
    tri = triangle_from_array(SMALL)
    m = fitted_incremental(tri)
    np.testing.assert_allclose(np.nansum(m, axis=1), tri.latest_diagonal, rtol=1e-14)
    # the backward recursion reproduces the factors
    f1 = (150 + 160) / (100 + 110)
    assert m[1, 0] == pytest.approx(160 / f1, rel=1e-14)


def test_mack_small_by_hand():
    tri = triangle_from_array(SMALL)
    mk = MackChainladder(sigma_interpolation="mack").fit(tri)
    f1 = (150 + 160) / (100 + 110)
    s1 = np.sqrt((100 * (1.5 - f1) ** 2 + 110 * (160 / 110 - f1) ** 2) / 1)
    assert mk.sigma_.iloc[0] == pytest.approx(s1, rel=1e-14)
    # one pair only for the last lag: Mack's rule needs two earlier sigmas, so it is 0 here
    assert mk.sigma_.iloc[1] == 0.0
    # origin 3 (index 2): process + parameter variance by Mack's recursion
    c0 = 120.0
    proc2 = c0 * s1 ** 2 * (165 / 150) ** 2
    par2 = (c0 * s1 / np.sqrt(210)) ** 2 * (165 / 150) ** 2
    assert mk.mack_std_err_.iloc[2] == pytest.approx(np.sqrt(proc2 + par2), rel=1e-13)


def test_mack_1993_raa_published():
    """Mack (1993), Table: RAA total reserve 52,135 and standard error 26,909."""
    tri = read_triangle(DATA / "raa.csv")
    mk = MackChainladder(sigma_interpolation="mack").fit(tri)
    assert round(mk.ibnr_total_) == 52135
    assert round(mk.total_mack_std_err_) == 26909
    # per origin (Mack 1993): 1982 .. 1990
    published = [206, 623, 747, 1469, 2002, 2209, 5358, 6333, 24566]
    np.testing.assert_array_equal(np.round(mk.mack_std_err_.iloc[1:]).astype(int), published)
    assert mk.mack_std_err_.iloc[0] == 0.0


def test_sigma_interpolation_options_differ_only_in_last_sigma():
    tri = read_triangle(DATA / "raa.csv")
    a = MackChainladder("mack").fit(tri)
    b = MackChainladder("log-linear").fit(tri)
    np.testing.assert_array_equal(a.sigma_.iloc[:-1], b.sigma_.iloc[:-1])
    s7, s8 = a.sigma_.iloc[-3], a.sigma_.iloc[-2]
    assert a.sigma_.iloc[-1] == pytest.approx(np.sqrt(min(s8 ** 4 / s7 ** 2, s7 ** 2, s8 ** 2)),
                                         rel=1e-14)
    # log-linear: the last sigma lies on the least-squares line through log sigma
    x = np.arange(1, 9)
    slope, icpt = np.polyfit(x, np.log(b.sigma_.iloc[:-1]), 1)
    assert b.sigma_.iloc[-1] == pytest.approx(np.exp(icpt + 9 * slope), rel=1e-10)


def test_bad_sigma_interpolation():
    with pytest.raises(ValueError, match="sigma_interpolation"):
        MackChainladder("cubic")


def test_reserve_summary_json_shape():
    import json

    from jkn_risk.reserving import format_summary, reserve_summary

    d = reserve_summary(DATA / "raa.csv", bootstrap=500, seed=3, sigma_interpolation="mack")
    assert set(d) == {"chainladder", "mack", "bootstrap"}
    assert set(d["chainladder"]) == {"ldf", "ibnr", "ibnr_total"}
    assert set(d["mack"]) == {"se", "total_se"}
    assert set(d["bootstrap"]) == {"n_sims", "mean", "std", "quantiles"}
    assert list(d["bootstrap"]["quantiles"]) == ["0.75", "0.95", "0.995"]
    assert d["bootstrap"]["n_sims"] == 500
    assert len(d["chainladder"]["ldf"]) == 9
    assert list(d["chainladder"]["ibnr"])[0] == "1981"
    assert round(d["chainladder"]["ibnr_total"]) == 52135
    assert round(d["mack"]["total_se"]) == 26909
    json.loads(json.dumps(d))
    text = format_summary(d)
    assert "total" in text and "52,135" in text and "0.995" in text
    assert "bootstrap" not in reserve_summary(DATA / "raa.csv")
