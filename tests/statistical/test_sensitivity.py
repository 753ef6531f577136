"""Sobol attribution (jkn_risk.report.sensitivity) against known answers.

1. The estimator core and the pick-freeze driver on the Ishigami function, its three inputs drawn
   from keyed streams (jkn_risk.rng) exactly as the engine's groups are: analytic S1 and ST.
2. The engine end to end on a synthetic config whose surplus is, given the stream groups, a sum of
   products of independent factors: lognormal level errors (``E F = 1``, ``E F^2 = exp(s^2)``) and
   the IBNR completion factors (uniform over the bootstrap replicates), with the claims process
   negligible at full membership. Var(E[Y | any set of factors]) is then exact (``_closed``).

The engine's indices must also equal, up to the claims process, those of the exact conditional
means evaluated on the same keyed streams (``conditional_mean_evaluate``): that checks the
re-keying of every group and the targets without sampling error. Intervals are the module's
percentile bootstrap (99% for Ishigami's six comparisons, 99.9% for the engine's ten).
"""
from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest

from jkn_risk.report import sensitivity as sens
from jkn_risk.rng import TAG_BOOTSTRAP, uniforms_for

# --------------------------------------------------------------------------- Ishigami
A_ISH, B_ISH = 7.0, 0.1


def _ishigami_theory():
    a, b, p = A_ISH, B_ISH, np.pi
    v1 = 0.5 * (1 + b * p ** 4 / 5) ** 2
    v2 = a * a / 8
    v13 = b * b * p ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def _ishigami_evaluate(seed=11):
    groups = ("x1", "x2", "x3")

    def evaluate(sims, streams):
        x = [-np.pi + 2 * np.pi * uniforms_for(TAG_BOOTSTRAP, seed, (streams or {}).get(g, sims), 100 + j)
             for j, g in enumerate(groups)]
        y = np.sin(x[0]) + A_ISH * np.sin(x[1]) ** 2 + B_ISH * x[2] ** 4 * np.sin(x[0])
        return np.stack([y, 3.0 * y + 1e6], axis=-1)  # a shifted, scaled copy: the same indices
    return groups, evaluate


def test_ishigami_within_intervals():
    groups, evaluate = _ishigami_evaluate()
    yA, yB, yAB = sens.pick_freeze(evaluate, groups, 8192, block=4096)
    est = sens.sobol_estimates(yA, yB, yAB, n_boot=500, seed=3, conf_level=0.99)
    s1, st = _ishigami_theory()
    for j in range(2):
        lo1, hi1 = est["S1_ci"][:, j, 0], est["S1_ci"][:, j, 1]
        lot, hit = est["ST_ci"][:, j, 0], est["ST_ci"][:, j, 1]
        assert np.all((lo1 <= s1) & (s1 <= hi1)), (est["S1"][:, j], est["S1_ci"][:, j], s1)
        assert np.all((lot <= st) & (st <= hit)), (est["ST"][:, j], est["ST_ci"][:, j], st)
        assert np.all(hi1 - lo1 < 0.1) and np.all(hit - lot < 0.1)  # informative, not vacuous
    # centring makes the estimates invariant to the shift and scale of the output
    np.testing.assert_allclose(est["S1"][:, 0], est["S1"][:, 1], atol=1e-9)
    np.testing.assert_allclose(est["ST"][:, 0], est["ST"][:, 1], atol=1e-9)


def test_point_estimates_are_salibs():
    """The same outputs in SALib's interleaved layout (A, AB_1..AB_k, B per base point) give
    SALib.analyze.sobol.analyze's S1 and ST."""
    from SALib.analyze import sobol

    groups, evaluate = _ishigami_evaluate(seed=5)
    yA, yB, yAB = sens.pick_freeze(evaluate, groups, 256, block=100)
    est = sens.sobol_estimates(yA, yB, yAB, n_boot=0)
    y = np.concatenate([yA[None, :, 0], yAB[:, :, 0], yB[None, :, 0]]).T.ravel()
    problem = {"num_vars": 3, "names": list(groups), "bounds": [[0, 1]] * 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sobol.analyze(problem, y, calc_second_order=False, num_resamples=10, seed=1)
    np.testing.assert_allclose(est["S1"][:, 0], ref["S1"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est["ST"][:, 0], ref["ST"], rtol=1e-10, atol=1e-12)
    assert np.all(np.isnan(est["S1_ci"]))  # n_boot=0: no intervals


def test_pick_freeze_layout():
    seen = []

    def evaluate(sims, streams):
        seen.append((sims.copy(), {k: v.copy() for k, v in (streams or {}).items()}))
        return np.asarray(sims, dtype=float)[:, None]
    yA, yB, yAB = sens.pick_freeze(evaluate, ("g1", "g2"), 5, block=2)
    np.testing.assert_array_equal(yA[:, 0], np.arange(5))
    np.testing.assert_array_equal(yB[:, 0], np.arange(5, 10))
    assert yAB.shape == (2, 5, 1) and len(seen) == 3 * 4
    sims, streams = seen[2]
    np.testing.assert_array_equal(sims, [0, 1])
    assert list(streams) == ["g1"] and list(streams["g1"]) == [5, 6]
    assert sens.evaluation_count(5, 2) == 20


def test_constant_output_gives_nan():
    yA = np.ones((10, 1))
    est = sens.sobol_estimates(yA, yA.copy(), np.ones((2, 10, 1)), n_boot=20)
    assert np.all(np.isnan(est["S1"])) and np.all(np.isnan(est["ST_ci"]))


# --------------------------------------------------------------------------- the engine
SIGMAS = {"utilization.inpatient.level": 0.3, "unit_cost.inpatient.level": 0.3,
          "utilization.outpatient.level": 0.15, "non_cbg.level": 0.2}
OVERRIDES = ["shocks=[]",  # tiny's 1/1000 scale-down off: full membership, negligible process noise
             "uncertainty={utilization: {inpatient: {level: 0.3}, outpatient: {level: 0.15}}, "
             "unit_cost: {inpatient: {level: 0.3}}, non_cbg: {level: 0.2}}"]


@pytest.fixture(scope="module")
def engine_run():
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run
    from tests.conftest import ROOT

    return prepare_run(build_parameters(load_config(ROOT / "tests" / "data" / "tiny.yaml", OVERRIDES)))


def _closed(terms, mu, m2, subset):
    """Var(E[Y | factors in subset]) of Y = sum_k a_k prod_{i in D_k} G_i, the G_i independent
    with means ``mu`` and second moments ``m2``; ``terms`` = [(a_k, D_k)]."""
    v = 0.0
    for (ak, dk), (al, dl) in itertools.product(terms, repeat=2):
        both, one = dk & dl, dk ^ dl
        e = np.prod([m2[i] if i in subset else mu[i] ** 2 for i in both]) * np.prod([mu[i] for i in one])
        v += ak * al * (e - np.prod([mu[i] ** 2 for i in both]) * np.prod([mu[i] for i in one]))
    return v


def _amounts(run):
    """Expected CBG claims (Y, C) at factor 1 and IBNR 1, non-CBG cost (Y,) and income (Y,) [IDR]."""
    p = run.params
    claims = (p.members[..., None] * p.rate * run.mean_cost_per_case).sum(axis=(1, 2))
    non_cbg = (p.members * 12.0 * p.non_cbg_pmpm).sum(axis=(1, 2))
    paid = p.contribution_pmpm * p.collection + p.humanitarian_share * p.class3_pmpm * (1 - p.collection)
    income = (p.members * 12.0 * paid[:, None, :]).sum(axis=(1, 2))
    return claims, non_cbg, income


def engine_theory(run):
    """Exact S1, ST (year, group) and the mean surplus (year,) of the config above (no process)."""
    p = run.params
    claims, non_cbg, income = _amounts(run)
    mu = {d: 1.0 for d in SIGMAS}
    m2 = {d: np.exp(s * s) for d, s in SIGMAS.items()}
    for c, samples in enumerate(p.ibnr_samples):
        mu[f"ibnr.{c}"], m2[f"ibnr.{c}"] = samples.mean(), np.mean(samples ** 2)
    members = {g: {g} for g in SIGMAS} | {"ibnr": {"ibnr.0", "ibnr.1"}, "process": set()}
    groups = sens.stream_groups(run)
    s1, st, mean = [], [], []
    for t in range(len(p.years)):
        terms = [(claims[t, 0], {"utilization.inpatient.level", "unit_cost.inpatient.level", "ibnr.0"}),
                 (claims[t, 1], {"utilization.outpatient.level", "ibnr.1"}),
                 (non_cbg[t], {"non_cbg.level"})]
        everything = set(mu)
        v = _closed(terms, mu, m2, everything)
        s1.append([_closed(terms, mu, m2, members[g]) / v for g in groups])
        st.append([1 - _closed(terms, mu, m2, everything - members[g]) / v for g in groups])
        mean.append(income[t] * (1 - p.admin_share[t])
                    - sum(a * np.prod([mu[i] for i in d]) for a, d in terms))
    return groups, np.array(s1), np.array(st), np.array(mean)


def conditional_mean_evaluate(run):
    """``evaluate(sims, streams)`` of the targets' exact conditional means E[target | factors],
    from the same keyed streams as the engine (assumption draws and IBNR factors, no kernel)."""
    from jkn_risk.assumptions import draw
    from jkn_risk.simulate import ibnr_draws

    claims, non_cbg, income = _amounts(run)
    admin = run.params.admin_share

    def evaluate(sims, streams):
        streams = streams or {}
        d = draw(run.assumptions, sims, streams)
        ib = ibnr_draws(run.params, streams.get("ibnr", sims))[:, None, :]  # (n, 1, C)
        util = np.stack([d["utilization.inpatient.level"], d["utilization.outpatient.level"]], axis=-1)
        cost = np.stack([d["unit_cost.inpatient.level"], d["unit_cost.outpatient.level"]], axis=-1)
        medical = (claims * util * cost * ib).sum(axis=-1) + non_cbg * d["non_cbg.level"]  # (n, Y)
        return np.stack([income * (1 - admin) - medical, medical / income], axis=1)
    return evaluate


def test_groups_cover_every_stream(engine_run):
    """B = simulations N..2N-1 is the same as re-keying every group: no randomness outside the groups."""
    from jkn_risk.simulate import STREAM_GROUPS, simulate_block

    ids = np.arange(3)
    every = {g: ids + 50 for g in engine_run.drivers + STREAM_GROUPS}
    a = sens.target_values(simulate_block(engine_run, ids, streams=every))
    b = sens.target_values(simulate_block(engine_run, ids + 50))
    np.testing.assert_array_equal(a, b)
    groups = sens.stream_groups(engine_run)
    assert set(groups[:-2]) == set(SIGMAS) and groups[-2:] == ("ibnr", "process")


def _check_engine(run, n, n_boot, conf_level, max_width):
    """(1) The engine's indices equal those of the exact conditional means on the same streams, up
    to the claims process; (2) they contain the theory within their intervals."""
    groups, s1, st, mean = engine_theory(run)
    res = sens.sobol_indices(run, n, n_boot=n_boot, seed=5, conf_level=conf_level)
    assert res.groups == groups and res.S1.shape == (2, 2, len(groups))
    exact = sens.sobol_estimates(*sens.pick_freeze(conditional_mean_evaluate(run), groups, n, block=n),
                                 n_boot=0)
    np.testing.assert_allclose(res.S1, np.moveaxis(exact["S1"], 0, 2), atol=0.01)
    np.testing.assert_allclose(res.ST, np.moveaxis(exact["ST"], 0, 2), atol=0.01)
    proc = groups.index("process")
    for t in range(2):  # surplus and claim ratio: income is certain, so the same indices
        k = [i for i in range(len(groups)) if i != proc]
        for name, est, ci, theory in (("S1", res.S1, res.S1_ci, s1), ("ST", res.ST, res.ST_ci, st)):
            lo, hi = ci[t][..., k, 0], ci[t][..., k, 1]
            th = theory[:, k]
            assert np.all((lo <= th) & (th <= hi)), (name, t, est[t][:, k], ci[t][:, k], th)
            assert np.all(hi - lo < max_width), (name, hi - lo)
        # the claims process: ST ~ E[Var(Y | factors)] / V, of order 1e-5 at full membership
        assert np.all(res.ST_ci[t, :, proc, 1] < 2e-3), res.ST_ci[t, :, proc]
        assert np.all(np.abs(res.S1[t, :, proc]) < 0.05)
    se = np.sqrt(res.variance[0] / (2 * n))
    assert np.all(np.abs(res.mean[0] - mean) < 4 * se), (res.mean[0], mean, se)
    return res, s1, st


# Intervals at 99.9%: each test makes about ten nearly independent comparisons with theory (four
# drivers, S1 and ST; the two years and the two targets almost repeat them), so 99.9% intervals
# keep the chance of any false alarm near 1%.
CONF = 0.999


def test_engine_known_answer(engine_run):
    """N = 256 base points, 6 groups: 2,048 simulations (20-30 s on two shared cores)."""
    res, s1, st = _check_engine(engine_run, 256, 400, CONF, max_width=0.55)
    i = res.groups.index("utilization.inpatient.level")
    assert st[0, i] - s1[0, i] > 0.03  # theory has an interaction: inpatient use x unit cost


@pytest.mark.slow
def test_engine_known_answer_large(engine_run):
    """N = 4,096: 32,768 simulations (about 6 min of CPU)."""
    _check_engine(engine_run, 4096, 1000, CONF, max_width=0.15)


# --------------------------------------------------------------------------- files and JSON
def _fake_result():
    k = 3
    rng = np.random.default_rng(0)
    s1 = rng.uniform(0, 0.5, (2, 2, k))
    ci = np.stack([s1 - 0.05, s1 + 0.05], axis=-1)
    s1[1, 1, 2] = np.nan
    ci[1, 1, 2] = np.nan
    return sens.SobolResult(groups=("wage", "ibnr", "process"), targets=sens.TARGETS, years=(2014, 2015),
                            n=16, S1=s1, S1_ci=ci, ST=s1 + 0.1, ST_ci=ci + 0.1, variance=np.ones((2, 2)),
                            mean=np.zeros((2, 2)), config_name="fake")


def test_json_shape_and_files(tmp_path):
    res = _fake_result()
    paths = sens.write_sensitivity(res, tmp_path / "s", dpi=40)
    assert {p.name for p in paths} == {"sensitivity.json", "sensitivity.md", "sensitivity.png",
                                       "sensitivity_section.md"}
    recs = json.loads((tmp_path / "s" / "sensitivity.json").read_text())
    assert [(r["target"], r["year"]) for r in recs] == [("surplus", 2014), ("surplus", 2015),
                                                        ("claim_ratio", 2014), ("claim_ratio", 2015)]
    for r in recs:
        assert {"target", "year", "indices"} <= set(r) and r["evaluations"] == 5 * 16
        assert [i["driver"] for i in r["indices"]] == ["wage", "ibnr", "process"]
        for i in r["indices"]:
            assert set(i) == {"driver", "S1", "S1_ci", "ST", "ST_ci"} and len(i["S1_ci"]) == 2
    assert recs[3]["indices"][2]["S1"] is None and recs[3]["indices"][2]["S1_ci"] == [None, None]
    assert recs == json.loads(res.to_json())
    df = sens.sensitivity_frame(res)
    assert len(df) == 12 and list(df.columns[:3]) == ["target", "year", "driver"]
    assert (tmp_path / "s" / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "s" / "sensitivity.md").read_text()
    assert "national claim ratio, 2015" in md and "`wage`" in md


def test_report_joins_sensitivity(tmp_path):
    from jkn_risk.report import render
    from tests.synthetic_results import make_results

    out = tmp_path / "r"
    render.render_report(make_results(30), out, n_boot=10, dpi=30)
    assert sens._SECTION not in (out / "report.md").read_text()
    sens.write_sensitivity(_fake_result(), out, dpi=30)  # joins the report already there
    md = (out / "report.md").read_text()
    assert md.count(sens._SECTION) == 1 and md.index(sens._SECTION) < md.index("## Definitions and methods")
    html = (out / "report.html").read_text()
    assert "Attribution: Sobol indices" in html and html.count("data:image/png;base64,") >= 6
    sens.join_report(out)  # idempotent
    assert (out / "report.md").read_text().count(sens._SECTION) == 1
    render.render_report(make_results(30), out, n_boot=10, dpi=30)  # a fresh report picks it up
    md = (out / "report.md").read_text()
    assert md.count(sens._SECTION) == 1 and "national surplus, 2015" in md
