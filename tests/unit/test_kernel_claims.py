"""Unit tests for the claims kernel: exact answers, edge cases, reproducibility, no refcounting."""
import os
import re

import numba
import numpy as np
import pytest

from jkn_risk.kernels import claims as K
from jkn_risk.kernels.amounts import event_tables
from jkn_risk.kernels.individual import individual_block
from jkn_risk.kernels.alias import alias_probabilities, build_alias_table
from tests.kernel_reference import multi_cell_inputs, multi_cell_rate, one_cell, run_cells

PROBS = np.array([0.5, 0.3, 0.2])
TARIFF = np.array([1_000_000, 3_000_000, 12_000_000])


def _run(sims, threads=None, inputs=None, rate=None):
    inputs = multi_cell_inputs() if inputs is None else inputs
    rate = multi_cell_rate(sims) if rate is None else rate
    return run_cells(seed=2024, sims=np.asarray(sims), rate=rate, threads=threads, **inputs)


# --- alias tables ---------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 7, 1077])
def test_alias_table_encodes_the_distribution(k):
    p = np.random.default_rng(k).pareto(1.1, k) + 1e-3
    p[::5] = 0.0 if k > 1 else p[::5]
    ap, ai = build_alias_table(p)
    assert ap.dtype == np.float64 and ai.dtype == np.int64
    np.testing.assert_allclose(alias_probabilities(ap, ai), p / p.sum(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("k", [1, 3, 288, 1077])
def test_event_table_pays_each_tariff_with_its_probability(k):
    """The merged (threshold, own tariff, alias's tariff) rows of individual cells encode the
    case-mix probabilities of each cell's tariffs; collective cells get no row of their own."""
    rng = np.random.default_rng(k)
    p = rng.pareto(1.1, k) + 1e-3
    ap, ai = build_alias_table(p)
    tariff = np.stack([rng.permutation(np.arange(1, k + 1)) * 1000, np.arange(1, k + 1) * 7])
    table, row, shift = event_tables(ap[None], ai[None], np.array([k]), np.array([0, 0]),
                                     tariff, np.array([True, True]))
    width = 1 << (64 - int(shift[0]))
    for c in range(2):
        t = table[row[c], :width]
        keep = np.where(t[:, 0] == -1, 1.0, t[:, 0].view(np.uint64) / 2.0 ** int(shift[c]))
        paid = {}
        for j in range(width):
            paid[t[j, 1]] = paid.get(t[j, 1], 0.0) + keep[j] / width
            paid[t[j, 2]] = paid.get(t[j, 2], 0.0) + (1.0 - keep[j]) / width
        expected = dict(zip(tariff[c], alias_probabilities(ap, ai)))
        assert {x for x, q in paid.items() if q > 0} <= set(expected)
        for x, q in expected.items():
            assert paid.get(x, 0.0) == pytest.approx(q, abs=1e-15)
    _, row2, _ = event_tables(ap[None], ai[None], np.array([k]), np.array([0, 0]), tariff,
                              np.array([False, True]))
    assert row2.tolist() == [0, 0]


def test_alias_table_rejects_bad_input():
    with pytest.raises(ValueError):
        build_alias_table(np.array([0.0, 0.0]))
    with pytest.raises(ValueError):
        build_alias_table(np.array([0.5, -0.1]))


# --- edge cases -----------------------------------------------------------------------------
def test_zero_members_and_zero_rate_give_zeros():
    assert not one_cell(PROBS, TARIFF, members=0, rate=0.5, n_sim=3).any()
    assert not one_cell(PROBS, TARIFF, members=10_000, rate=0.0, n_sim=3).any()
    assert not one_cell(PROBS, TARIFF, members=10_000, rate=0.0, n_sim=3,
                        frequency=K.FREQ_NEGBIN, sigma=0.3).any()
    out = one_cell(PROBS, TARIFF, members=0, rate=0.5, n_sim=2, method=K.METHOD_COLLECTIVE)
    np.testing.assert_array_equal(out, [[0, -1, 0, 0, 0]] * 2)


@pytest.mark.parametrize("freq", [K.FREQ_POISSON, K.FREQ_NEGBIN])
def test_cap_below_cheapest_tariff_caps_every_member_with_an_event(freq):
    cap = 999_999
    out = one_cell(PROBS, TARIFF, members=50_000, rate=0.4, n_sim=4, cap=cap, frequency=freq,
                   sigma=0.0)
    mw = out[:, K.OUT_MEMBERS_WITH_EVENTS]
    assert (mw > 0).all()
    np.testing.assert_array_equal(out[:, K.OUT_MEMBERS_OVER_CAP], mw)
    np.testing.assert_array_equal(out[:, K.OUT_CLAIMS], mw * cap)


def test_no_cap_and_one_case_group():
    out = one_cell(PROBS, TARIFF, members=30_000, rate=0.7, n_sim=3, sigma=0.4)
    np.testing.assert_array_equal(out[:, K.OUT_CLAIMS], out[:, K.OUT_CLAIMS_UNCAPPED])
    assert not out[:, K.OUT_MEMBERS_OVER_CAP].any()
    one = one_cell([1.0], [2_500_000], members=30_000, rate=0.7, n_sim=3, cap=4_000_000)
    events = one[:, K.OUT_EVENTS]
    np.testing.assert_array_equal(one[:, K.OUT_CLAIMS_UNCAPPED], events * 2_500_000)
    assert (one[:, K.OUT_MEMBERS_WITH_EVENTS] <= events).all()
    for method in (K.METHOD_INDIVIDUAL, K.METHOD_COLLECTIVE):
        col = one_cell([1.0], [2_500_000], members=30_000, rate=0.7, n_sim=3, method=method)
        np.testing.assert_array_equal(col[:, K.OUT_CLAIMS_UNCAPPED], col[:, 0] * 2_500_000)


def test_hundred_million_member_cell_no_overflow_no_memory_growth():
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process(os.getpid())
    one_cell(PROBS, TARIFF, members=1_000_000, rate=0.3, n_sim=1, cap=50_000_000)  # compile
    before = proc.memory_info().rss
    m, rate = 100_000_000, 0.3
    out = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=1, cap=50_000_000, sigma=0.3)[0]
    grown = proc.memory_info().rss - before
    assert grown < 64 * 2**20, f"memory grew by {grown / 2**20:.0f} MB"
    assert abs(out[K.OUT_EVENTS] - m * rate) < 4 * np.sqrt(m * rate)
    p_any = -np.expm1(-rate)
    assert abs(out[K.OUT_MEMBERS_WITH_EVENTS] - m * p_any) < 4 * np.sqrt(m * p_any * (1 - p_any))
    mean_cost = m * rate * PROBS @ TARIFF
    assert 0 < out[K.OUT_CLAIMS] <= out[K.OUT_CLAIMS_UNCAPPED]
    assert abs(out[K.OUT_CLAIMS_UNCAPPED] / mean_cost - 1) < 1e-3
    big = one_cell(PROBS, TARIFF, members=10**9, rate=0.5, n_sim=1,
                   method=K.METHOD_COLLECTIVE, frequency=K.FREQ_NEGBIN)[0]
    assert abs(big[K.OUT_CLAIMS_UNCAPPED] / (10**9 * 0.5 * PROBS @ TARIFF) - 1) < 1e-2


def test_wrapper_validates():
    with pytest.raises(ValueError, match="collective"):
        one_cell(PROBS, TARIFF, members=10, rate=0.1, n_sim=1, method=K.METHOD_COLLECTIVE,
                 cap=1_000)
    with pytest.raises(ValueError):
        one_cell(PROBS, TARIFF, members=-1, rate=0.1, n_sim=1)
    with pytest.raises(ValueError):
        one_cell(PROBS, TARIFF, members=10, rate=-0.1, n_sim=1)
    with pytest.raises(ValueError):
        one_cell(PROBS, TARIFF, members=10, rate=0.1, n_sim=1, frequency=K.FREQ_NEGBIN,
                 dispersion=0.0)


# --- reproducibility ------------------------------------------------------------------------
def test_bit_identical_across_blocks_order_and_threads():
    sims = np.arange(12)
    full = _run(sims, threads=1)
    assert full.shape == (12, 6, 5)
    np.testing.assert_array_equal(_run(sims, threads=2), full)
    order = np.array([7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6])
    np.testing.assert_array_equal(_run(order, threads=2), full[order])
    parts = [_run(sims[i:i + 5], threads=t) for i, t in zip(range(0, 12, 5), (1, 2, 1))]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    # The 2.5 M-member cell spans three member blocks: its streams do not depend on the rest.
    inputs = multi_cell_inputs()
    sub = {k: (v[3:4] if k not in ("alias_prob", "alias_index", "n_groups") else v)
           for k, v in inputs.items()}
    alone = _run(sims, threads=2, inputs=sub, rate=multi_cell_rate(sims)[:, 3:4])
    np.testing.assert_array_equal(alone[:, 0], full[:, 3])


def test_common_random_numbers_across_cells():
    sims = np.arange(6)
    rate = multi_cell_rate(sims)
    base = _run(sims, rate=rate)
    bumped = rate.copy()
    bumped[:, 2] *= 1.7
    other = _run(sims, rate=bumped)
    keep = np.arange(6) != 2
    np.testing.assert_array_equal(other[:, keep], base[:, keep])
    assert not np.array_equal(other[:, 2], base[:, 2])


@pytest.mark.parametrize("sigma", [0.0, 0.2])
def test_common_random_numbers_across_collective_cells(sigma):
    # Cells 3 (NB) and 5 (NB, sigma = 0) collective; bumping one leaves the others bit-identical.
    inputs = multi_cell_inputs()
    inputs["method"] = np.array([0, 0, 0, 1, 0, 1])
    inputs["sigma"] = inputs["sigma"].copy()
    inputs["sigma"][3] = sigma
    sims = np.arange(6)
    rate = multi_cell_rate(sims)
    base = _run(sims, rate=rate, inputs=inputs)
    for c in (3, 5):
        bumped = rate.copy()
        bumped[:, c] *= 1.05
        other = _run(sims, rate=bumped, inputs=inputs)
        keep = np.arange(6) != c
        np.testing.assert_array_equal(other[:, keep], base[:, keep])
        # The same draws and more events (+5% of these group means is many standard deviations).
        assert (other[:, c, K.OUT_EVENTS] >= base[:, c, K.OUT_EVENTS]).all()
        assert not np.array_equal(other[:, c], base[:, c])


def test_seed_changes_results():
    a = one_cell(PROBS, TARIFF, members=10_000, rate=0.3, n_sim=2, seed=1)
    b = one_cell(PROBS, TARIFF, members=10_000, rate=0.3, n_sim=2, seed=2)
    assert not np.array_equal(a, b)


# --- compiled code ----------------------------------------------------------------------------
@pytest.mark.skipif(bool(numba.config.BOUNDSCHECK), reason="bounds checks add NRT error paths")
def test_hot_kernel_has_no_reference_counting():
    # Cached dispatchers cannot be inspected: compile an uncached twin for the same types.
    from numba import float64 as f8, int64 as i8, uint64 as u8

    twin = numba.njit(individual_block.py_func)
    twin.compile((u8, u8, i8, f8, i8, f8, i8[:, ::1], i8, f8, i8, f8, i8[:, ::1], f8[:, ::1],
                  f8[::1]))
    ir = next(iter(twin.inspect_llvm().values()))
    # The nopython function itself is the first definition; later ones are the CPython wrapper.
    body = ir.split("\ndefine ")[1]
    assert "individual_block" in body.split("(")[1]
    # Every basic block that advances the generator (xoshiro's rotate by 45) is free of NRT
    # calls: an incref inside the event loop (an array passed to a non-inlined helper, an
    # array-held RNG state, a temporary array) would show up there.
    blocks = re.split(r"\n(?=[A-Za-z0-9_.]+:)", body)
    # The bulk streams' SIMD loops (rotate of a <LANES x i64> vector), one per fill_u64 call
    # site, and any inlined scalar steps (the binomial and the noise completions are calls).
    scalar = [b for b in blocks if re.search(r"@llvm\.fshl\.i64\([^)]*i64 45\)", b)]
    simd = [b for b in blocks if re.search(r"@llvm\.fshl\.v\d+i64\([^)]*splat \(i64 45\)", b)]
    assert len(simd) >= 3
    assert not [b for b in scalar + simd if "@NRT_" in b]
    # The scratch arrays (amounts, raw words, tariffs, normals, lane states) are allocated once
    # per block (a fixed number of call sites; none per member or event), and no NRT call sits
    # in a block that loops back on itself.
    assert len(re.findall(r"call [^\n]*@NRT_MemInfo_alloc", body)) <= 5
    for b in blocks:
        label = b.split(":", 1)[0].strip()
        if "@NRT_" in b and re.search(rf"br [^\n]*label %{re.escape(label)}(?![\w.])", b):
            raise AssertionError(f"NRT call in a self-looping block {label}")


# --- per-simulation members and cost scale ----------------------------------------------------
def test_cost_scale_one_and_members_per_sim_change_nothing():
    """A cost scale of exactly 1 and members given per simulation reproduce the plain call."""
    sims = np.arange(5)
    inputs = multi_cell_inputs()
    base = _run(sims, threads=1)
    members = np.broadcast_to(inputs.pop("members"), (5, 6))
    again = run_cells(seed=2024, sims=sims, rate=multi_cell_rate(sims), members=members,
                      cost_scale=np.ones((5, 6)), threads=2, **inputs)
    np.testing.assert_array_equal(again, base)


def test_cost_scale_multiplies_each_members_total_before_the_cap():
    """Without noise every member pays tariffs: with scale s the one-event members (the
    ``members_with_events`` of a tiny rate) pay ``rint(s * tariff)``, and the cap applies to the
    scaled total, so a scale that lifts the cheapest tariff above the cap caps every member."""
    tariff = np.array([1_000_000, 1_000_000, 1_000_000])
    out = one_cell(PROBS, tariff, members=200_000, rate=0.01, n_sim=3)
    ap, ai = build_alias_table(PROBS)
    cells = dict(cell_key=np.array([0]), mix=np.array([0]), alias_prob=ap[None], alias_index=ai[None],
                 n_groups=np.array([3]), tariff=tariff[None].astype(np.int64),
                 frequency=np.array([K.FREQ_POISSON]), dispersion=np.array([1.0]),
                 sigma=np.array([0.0]), method=np.array([K.METHOD_INDIVIDUAL]))
    scaled = run_cells(seed=12345, sims=np.arange(3), rate=np.full((3, 1), 0.01),
                       members=np.array([200_000]), cost_scale=np.full((3, 1), 1.25),
                       cap=np.array([1_200_000]), **cells)[:, 0]
    # same events and members (streams untouched by the scale)
    np.testing.assert_array_equal(scaled[:, K.OUT_EVENTS], out[:, K.OUT_EVENTS])
    np.testing.assert_array_equal(scaled[:, K.OUT_CLAIMS_UNCAPPED], out[:, K.OUT_EVENTS] * 1_250_000)
    np.testing.assert_array_equal(scaled[:, K.OUT_MEMBERS_OVER_CAP],
                                  scaled[:, K.OUT_MEMBERS_WITH_EVENTS])
    assert (scaled[:, K.OUT_CLAIMS] <= scaled[:, K.OUT_MEMBERS_WITH_EVENTS] * 1_200_000).all()


def test_collective_cost_scale_scales_the_cell_total():
    tariff = np.array([1_000_000, 3_000_000, 12_000_000])
    ap, ai = build_alias_table(PROBS)
    common = dict(seed=5, sims=np.arange(4), rate=np.full((4, 1), 0.2), members=np.array([10_000]),
                  cell_key=np.array([9]), mix=np.array([0]), alias_prob=ap[None], alias_index=ai[None],
                  n_groups=np.array([3]), tariff=tariff[None].astype(np.int64),
                  frequency=np.array([K.FREQ_POISSON]), dispersion=np.array([1.0]),
                  sigma=np.array([0.2]), cap=np.array([K.NO_CAP]),
                  method=np.array([K.METHOD_COLLECTIVE]))
    plain = run_cells(**common)[:, 0]
    scaled = run_cells(cost_scale=np.full((4, 1), 0.9), **common)[:, 0]
    np.testing.assert_array_equal(scaled[:, K.OUT_EVENTS], plain[:, K.OUT_EVENTS])
    np.testing.assert_array_equal(scaled[:, K.OUT_CLAIMS],
                                  np.rint(plain[:, K.OUT_CLAIMS] * 0.9).astype(np.int64))


def test_duplicate_cell_keys_are_refused():
    inputs = multi_cell_inputs()
    inputs["cell_key"] = np.zeros(6, dtype=np.int64)
    inputs.pop("members")
    with pytest.raises(ValueError, match="distinct"):
        K.kernel_inputs(seed=1, **inputs)
