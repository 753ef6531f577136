"""Unit tests for jkn_risk.orchestrate: block plans, block sizes, the serial run and resume.

The simulation is a numpy stand-in with ``simulate_block``'s signature, injected through
``run``'s ``prepare`` and ``simulate`` parameters (no kernel, no Dask);
the Dask paths are tested in tests/cli/test_reproducibility.py.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from jkn_risk import orchestrate, results
from jkn_risk.orchestrate import auto_block_size, plan_blocks
from jkn_risk.results import ResultsError, ResultsExistError, ResumeMismatchError

CONFIG = "name: fake\nsimulation:\n  n_sims: 11\n"


def _params(seed=3, n_sims=11, block_size=3):
    return SimpleNamespace(seed=seed, n_sims=n_sims, block_size=block_size, name="fake",
                           config_yaml=CONFIG)


class StandIn:
    """simulate_block stand-in: per-sim counter-based draws; records calls; can fail."""

    def __init__(self, fail_at=None):
        self.calls, self.fail_at = [], fail_at

    def __call__(self, params, sims, threads=None):
        sims = np.asarray(sims, dtype=np.int64)
        self.calls.append(sims.tolist())
        if self.fail_at is not None and self.fail_at in sims:
            raise RuntimeError(f"boom at sim {self.fail_at}")
        draws = np.stack([np.random.Generator(np.random.Philox(key=params.seed, counter=int(s)))
                          .standard_normal((2, 3)) for s in sims])
        return xr.Dataset(
            {"claims": (("sim", "year", "region"), np.rint(draws * 1e6).astype(np.int64),
                        {"units": "IDR", "long_name": "claims"}),
             "surplus": (("sim", "year", "region"), draws * 1e9,
                         {"units": "IDR", "long_name": "surplus"})},
            coords={"sim": sims, "year": np.array([2014, 2015]),
                    "region": np.array(["R1", "R2", "R3"], dtype=object)})


class StandInRun:
    """``prepare`` stand-in: what orchestrate.run builds once (schema from one simulation)."""

    def __init__(self, params):
        self.seed = params.seed
        self._one = StandIn()(self, np.array([0]))

    def template(self):
        return self._one[[n for n, v in self._one.data_vars.items() if "sim" in v.dims]]

    def static(self):
        return self._one.drop_dims("sim")


def _load(path):
    return results.open_results(path).load()


# --------------------------------------------------------------------------- planning
def test_plan_blocks():
    assert plan_blocks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert plan_blocks(8, 4) == [(0, 4), (4, 8)]
    assert plan_blocks(3, 10) == [(0, 3)]
    assert plan_blocks(1, 1) == [(0, 1)]
    with pytest.raises(ValueError):
        plan_blocks(0, 4)
    with pytest.raises(ValueError):
        plan_blocks(4, 0)


@pytest.mark.parametrize("n, block", [(1, 1), (7, 7), (100, 7), (1_000_003, 1000)])
def test_plan_blocks_cover_exactly(n, block):
    plan = plan_blocks(n, block)
    assert plan[0][0] == 0 and plan[-1][1] == n
    assert all(a == i * block for i, (a, _) in enumerate(plan))
    assert all(b0 == a1 for (_, b0), (a1, _) in zip(plan, plan[1:]))


@pytest.mark.parametrize("x, want", [(0.3, 1), (1, 1), (1.9, 1), (2, 2), (4.99, 4), (5, 5),
                                     (9.9, 9), (10, 10), (37, 20), (99, 50), (120, 100)])
def test_nice_floor(x, want):
    assert orchestrate._nice_floor(x) == want


@pytest.fixture(scope="module")
def small_params():
    from pathlib import Path

    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters

    return build_parameters(load_config(Path(__file__).parents[1] / "data" / "small.yaml"))


def test_auto_block_size_is_deterministic_and_bounded(small_params):
    from dataclasses import replace

    big = 10**6  # no load-balance bound
    a = auto_block_size(small_params, big)
    assert a == auto_block_size(small_params, big)  # no timing involved
    secs = orchestrate.estimate_seconds_per_sim(small_params) * a
    assert 0.4 * orchestrate.TARGET_SECONDS <= secs <= orchestrate.TARGET_SECONDS
    assert auto_block_size(small_params, 3) == 1  # 3 sims: one block each (load balance)
    n = 1000
    assert len(plan_blocks(n, auto_block_size(small_params, n))) >= orchestrate.MIN_BLOCKS
    slow = replace(small_params, method=(0, 0), annual_cap=1e8, cost_noise_sigma=0.3)
    per_sim = orchestrate.estimate_seconds_per_sim(slow)
    assert per_sim > orchestrate.estimate_seconds_per_sim(small_params)
    b = auto_block_size(slow, big)
    assert b == 1 or 0.5 * orchestrate.TARGET_SECONDS <= per_sim * b <= orchestrate.TARGET_SECONDS
    assert auto_block_size(slow, big) < a


def test_auto_block_size_of_the_baseline():
    """configs/jkn2014.yaml: collective blocks hold >= 10 simulations, individual ones (cap,
    noise: ~2 s per simulation) several, so a 10,000-simulation store has few chunk files."""
    from pathlib import Path

    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters

    path = Path(__file__).parents[2] / "configs" / "jkn2014.yaml"
    collective = build_parameters(load_config(path))
    individual = build_parameters(load_config(path, overrides=[
        "simulation.method=individual", "policy.annual_benefit_cap=100000000",
        "case_mix.cost_noise_sigma=0.3"]))
    assert auto_block_size(collective, 10_000) >= 10
    assert 2 <= auto_block_size(individual, 10_000) <= 10


# --------------------------------------------------------------------------- serial runs
def test_serial_run_matches_direct_simulation(tmp_path):
    sim = StandIn()
    store = orchestrate.run(_params(), tmp_path / "r.zarr", workers=0, progress=False,
                            prepare=StandInRun, simulate=sim)
    assert store == (tmp_path / "r.zarr").absolute()
    got = _load(store)
    want = sim(_params(), np.arange(11))
    xr.testing.assert_identical(got[["claims", "surplus"]].drop_attrs(deep=False),
                                want.drop_vars([]))
    assert sorted(map(tuple, sim.calls[:-1])) == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10)]
    assert results.store_attrs(store)["block_size"] == 3


def test_progress_bar_runs(tmp_path, capsys):
    orchestrate.run(_params(), tmp_path / "r.zarr", workers=0, progress=True, prepare=StandInRun, simulate=StandIn())
    assert "11/11" in capsys.readouterr().err


def test_existing_store_needs_resume_or_overwrite(tmp_path):
    path = tmp_path / "r.zarr"
    orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn())
    with pytest.raises(ResultsExistError):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn())
    with pytest.raises(ResultsError, match="not both"):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(),
                        resume=True, overwrite=True)
    orchestrate.run(_params(seed=4), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(),
                    overwrite=True)
    assert results.store_attrs(path)["seed"] == 4


def test_failed_run_keeps_blocks_and_resumes_to_same_bits(tmp_path):
    full = orchestrate.run(_params(), tmp_path / "full.zarr", workers=0, progress=False,
                           prepare=StandInRun, simulate=StandIn())
    path = tmp_path / "r.zarr"
    with pytest.raises(RuntimeError, match="boom at sim 7"):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(fail_at=7))
    assert results.completed_blocks(path) == {0, 1}
    with pytest.raises(results.IncompleteResultsError):
        results.open_results(path)
    again = StandIn()
    orchestrate.run(_params(block_size=None), path, workers=0, progress=False, prepare=StandInRun, simulate=again,
                    resume=True)
    assert again.calls == [[6, 7, 8], [9, 10]]  # only the missing blocks, at the store's size
    xr.testing.assert_identical(_load(path).drop_attrs(deep=False),
                                _load(full).drop_attrs(deep=False))
    nothing = StandIn()
    orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=nothing, resume=True)
    assert nothing.calls == []


def test_resume_refuses_another_run_before_simulating(tmp_path):
    path = tmp_path / "r.zarr"
    with pytest.raises(RuntimeError):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(fail_at=4))
    for bad, what in [(_params(seed=9), "seed"), (_params(n_sims=12), "n_sims"),
                      (_params(block_size=4), "block_size")]:
        sim = StandIn()
        with pytest.raises(ResumeMismatchError, match=what):
            orchestrate.run(bad, path, workers=0, progress=False, prepare=StandInRun, simulate=sim, resume=True)
        assert sim.calls == []


def test_resume_without_a_store_starts_fresh(tmp_path):
    path = orchestrate.run(_params(), tmp_path / "r.zarr", workers=0, progress=False,
                           prepare=StandInRun, simulate=StandIn(), resume=True)
    assert results.completed_blocks(path) == {0, 1, 2, 3}


# --------------------------------------------------------------------------- cluster config
def test_slurm_yaml_makes_a_single_threaded_job_script():
    """configs/cluster/slurm.yaml drives dask-jobqueue: one 1-thread worker per core, one
    Numba thread each (no SLURM needed: only the job script is rendered)."""
    pytest.importorskip("dask_jobqueue")
    from pathlib import Path

    import dask
    import yaml
    from dask_jobqueue import SLURMCluster

    path = Path(__file__).parents[2] / "configs" / "cluster" / "slurm.yaml"
    cfg = yaml.safe_load(path.read_text())
    with dask.config.set(dask.config.merge(dask.config.config, cfg)):  # restored afterwards
        with SLURMCluster(scheduler_options={"dashboard_address": None}) as cluster:
            script = cluster.job_script()
    assert "export NUMBA_NUM_THREADS=1" in script
    assert "--nthreads 1" in script
    slurm = cfg["jobqueue"]["slurm"]
    assert f"--nworkers {slurm['processes']}" in script
    assert slurm["processes"] == slurm["cores"]


# --------------------------------------------------------------------------- failures
class Interrupted(StandIn):
    """Ctrl-C (KeyboardInterrupt) while simulating ``fail_at``."""

    def __call__(self, params, sims, threads=None):
        if self.fail_at in np.asarray(sims):
            raise KeyboardInterrupt
        return super().__call__(params, sims, threads)


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_a_run_stopped_before_any_block_leaves_no_store(tmp_path, stop):
    path = tmp_path / "r.zarr"
    sim = StandIn(fail_at=0) if stop is RuntimeError else Interrupted(fail_at=0)
    with pytest.raises(stop):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=sim)
    assert list(tmp_path.iterdir()) == []  # no store, no temporary sibling
    orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn())
    assert results.completed_blocks(path) == {0, 1, 2, 3}


def test_an_interrupted_run_keeps_its_finished_blocks(tmp_path):
    path = tmp_path / "r.zarr"
    with pytest.raises(KeyboardInterrupt):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun,
                        simulate=Interrupted(fail_at=7))
    assert results.completed_blocks(path) == {0, 1}


def test_a_resumed_run_that_fails_keeps_the_store(tmp_path):
    path = tmp_path / "r.zarr"
    with pytest.raises(RuntimeError):
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(fail_at=4))
    with pytest.raises(RuntimeError):  # fails again at once: still the store of the first call
        orchestrate.run(_params(), path, workers=0, progress=False, prepare=StandInRun, simulate=StandIn(fail_at=4),
                        resume=True)
    assert results.completed_blocks(path) == {0}


@pytest.mark.parametrize("address", ["localhost8786", "tcp://host", "http://127.0.0.1:8786", "tcp://h:0",
                                     "tcp://h:70000", "tcp://:8786", ""])
def test_scheduler_address_format(address):
    with pytest.raises(orchestrate.SchedulerError, match="expected tcp://HOST:PORT"):
        orchestrate.check_scheduler(address)


def test_scheduler_address_must_answer(tmp_path):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(orchestrate.SchedulerError, match=f"cannot connect to 127.0.0.1:{port}"):
        orchestrate.run(_params(), tmp_path / "r.zarr", scheduler=f"tcp://127.0.0.1:{port}", progress=False,
                        prepare=StandInRun, simulate=StandIn())
    assert list(tmp_path.iterdir()) == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert orchestrate.check_scheduler(f"tcp://127.0.0.1:{s.getsockname()[1]}")[1] == s.getsockname()[1]
        assert orchestrate.check_scheduler(f"127.0.0.1:{s.getsockname()[1]}")[0] == "127.0.0.1"


def test_progress_without_a_terminal_prints_a_line_per_tenth(tmp_path, capsys):
    orchestrate.run(_params(n_sims=40, block_size=1), tmp_path / "r.zarr", workers=0, progress=True,
                    prepare=StandInRun, simulate=StandIn())
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "fake: loading kernels, first block"
    assert [ln.split(" sims ")[0] for ln in lines[1:]] == [f"fake: {4 * k}/40" for k in range(1, 11)]
