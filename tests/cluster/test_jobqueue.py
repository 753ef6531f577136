"""Option A of configs/cluster/README.md on a real SLURM: dask-jobqueue's ``SLURMCluster``
configured from configs/cluster/slurm.yaml, scaled to this host (1 job of 2 single-threaded
worker processes), drives ``jkn-risk run --scheduler``.

* the store is bit-identical to ``--workers 0``;
* a worker process killed with SIGKILL in the middle of a task loses no block: the task is
  rescheduled, every block completes and the store is bit-identical;
* ... and duplicates none: no finished block is computed again (orchestrate releases each
  block's future once the block is marked done).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from types import SimpleNamespace

import pytest
import yaml
from distributed.diagnostics.plugin import SchedulerPlugin

from tests.cluster.helpers import (N_BLOCKS, ROOT, assert_same_bits, blocks_done, cli,
                                    kill_group, run_args, slurm_cmd, wait_for_idle_node)

pytestmark = pytest.mark.cluster

SLURM_YAML = ROOT / "configs" / "cluster" / "slurm.yaml"


class TaskLog(SchedulerPlugin):
    """Scheduler plugin: per task, its starts (-> processing) and completions (-> memory) in
    order, e.g. ``"SD"`` (once), ``"SSD"`` (rescheduled from a lost worker), ``"SDSD"``
    (finished, then computed again)."""

    name = "jkn-task-log"

    def __init__(self):
        self.events: dict = defaultdict(str)

    def transition(self, key, start, finish, *args, stimulus_id=None, **kwargs):
        if finish == "processing":
            self.events[str(key)] += "S"
        elif start == "processing" and finish == "memory":
            self.events[str(key)] += "D"


def _install_log(client) -> None:
    def install(dask_scheduler):
        dask_scheduler.plugins.pop(TaskLog.name, None)
        dask_scheduler.add_plugin(TaskLog(), name=TaskLog.name)

    client.run_on_scheduler(install)


def _read_log(client) -> dict[str, str]:
    return client.run_on_scheduler(
        lambda dask_scheduler: dict(dask_scheduler.plugins[TaskLog.name].events))


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """SLURMCluster from configs/cluster/slurm.yaml, scaled to this host: cores and processes
    2 (one worker per core, as in the file), 4 GiB, a 10-minute walltime; logs in tmp."""
    import dask
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    cfg = yaml.safe_load(SLURM_YAML.read_text())
    job = cfg["jobqueue"]["slurm"]
    job.update({"cores": 2, "processes": 2, "memory": "4GiB", "walltime": "00:10:00",
                "log-directory": str(tmp_path_factory.mktemp("dask-logs"))})
    wait_for_idle_node()  # a 2-CPU node: earlier tests' jobs must have left it
    with dask.config.set(dask.config.merge(dask.config.config, cfg)):
        with SLURMCluster(scheduler_options={"dashboard_address": None}) as cluster, \
                Client(cluster) as client:
            cluster.scale(jobs=1)
            client.wait_for_workers(2, timeout=120)
            yield cluster, client
    # the job is cancelled by SLURMCluster.close(); wait until it has left the node
    deadline = time.monotonic() + 60
    while "jkn-worker" in slurm_cmd("squeue", "-h", "-o", "%j") and time.monotonic() < deadline:
        time.sleep(0.2)


def test_job_runs_slurm_yaml_layout(slurm_cluster):
    cluster, client = slurm_cluster
    script = cluster.job_script()
    assert "export NUMBA_NUM_THREADS=1" in script
    assert "--nthreads 1" in script and "--nworkers 2" in script
    jobs = slurm_cmd("squeue", "-h", "-o", "%i %j %T").splitlines()
    assert [j.split()[1:] for j in jobs] == [["jkn-worker", "RUNNING"]], jobs
    threads = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
    assert sorted(threads.values()) == ["1", "1"]
    in_job = client.run(lambda: os.environ.get("SLURM_JOB_ID"))
    assert set(in_job.values()) == {jobs[0].split()[0]}  # both workers live in that job


def test_slurmcluster_run_same_bits(slurm_cluster, reference, tmp_path):
    cluster, client = slurm_cluster
    _install_log(client)
    store = tmp_path / "jobqueue.zarr"
    cli(*run_args(store, "--scheduler", cluster.scheduler_address))
    assert_same_bits(store, reference)
    log = _read_log(client)
    assert len(log) == N_BLOCKS and set(log.values()) == {"SD"}, log  # each block once


@pytest.fixture(scope="module")
def killed_worker_run(slurm_cluster, tmp_path_factory):
    """A run during which one of the job's two worker processes is killed with SIGKILL while it
    runs a block, once some blocks are done. The victim is a busy worker that also holds
    finished blocks' results if there is one (the case that shows recomputation)."""
    cluster, client = slurm_cluster
    client.wait_for_workers(2, timeout=60)
    _install_log(client)
    pids = client.run(os.getpid)  # worker address -> its process
    store = tmp_path_factory.mktemp("killed-worker") / "killed-worker.zarr"
    cmd = [sys.executable, "-c", "from jkn_risk.cli import main; main()",
           *run_args(store, "--scheduler", cluster.scheduler_address)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    victim = killed_key = holding = None
    marked: set = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(blocks_done(store)) >= 2:
                busy = {w: sorted(map(str, keys)) for w, keys in client.processing().items()
                        if keys}
                finished = {k for k, e in _read_log(client).items() if "D" in e}
                holding = {w: [str(k) for k in keys if str(k) in finished]
                           for w, keys in client.has_what().items()}
                holding = {w: keys for w, keys in holding.items() if keys}
                # best a busy worker holding finished blocks (there is one unless finished
                # results are released, or the run is unlucky: then take any busy one)
                ready = sorted(set(busy) & set(holding)) or (
                    sorted(busy) if len(blocks_done(store)) >= 6 else [])
                if ready:
                    victim = ready[0]
                    marked = set(blocks_done(store))  # blocks the client had marked done
                    os.kill(pids[victim], signal.SIGKILL)
                    killed_key = busy[victim][0]
                    break
            time.sleep(0.05)
        out = proc.communicate(timeout=180)[0].decode()
    finally:
        kill_group(proc)
    assert victim is not None, "the run ended before a worker could be killed"
    # the job's nanny restarts the killed worker process: the job still has two
    client.wait_for_workers(2, timeout=60)
    return SimpleNamespace(store=store, returncode=proc.returncode, output=out,
                           log=_read_log(client), killed_key=killed_key,
                           victim_held=sorted(holding.get(victim, [])), marked=marked)


def test_worker_sigkilled_mid_task_loses_no_block(killed_worker_run, reference):
    run = killed_worker_run
    assert run.returncode == 0, run.output[-3000:]
    assert len(run.log) == N_BLOCKS and all("D" in e for e in run.log.values()), \
        f"blocks lost: {run.log}"
    # a task running (or queued) on the killed worker started again before it finished
    rescheduled = sorted(k for k, e in run.log.items() if "SS" in e)
    assert rescheduled, f"no task was rescheduled (killed while {run.killed_key} ran): {run.log}"
    assert_same_bits(run.store, reference)
    assert len(slurm_cmd("squeue", "-h", "-o", "%i").split()) == 1  # still the one job


def test_worker_sigkilled_mid_task_duplicates_no_block(killed_worker_run):
    """No block the client had marked done is computed again. A block that finished on the
    killed worker but whose (tiny) result the client had not yet gathered is lost with the
    worker and recomputed by Dask: it rewrites the same chunk with the same bits, so the store
    still holds every block once (checked by the test above)."""
    run = killed_worker_run
    again = {k: e for k, e in run.log.items()  # started again once finished and marked done
             if "DS" in e and int(str(k).rsplit("-", 1)[1]) in run.marked}
    assert not again, (f"finished blocks computed again: {again} (the killed worker held "
                       f"{run.victim_held})")
