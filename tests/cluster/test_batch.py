"""Option B of configs/cluster/README.md on a real SLURM: the batch script
(configs/cluster/jkn-run.sbatch, shown verbatim in the README) submitted with ``sbatch``,
scaled to this host on sbatch's command line (1 node, 2 CPUs, 4 GB, 10 minutes).

* the store is bit-identical to ``--workers 0``;
* ``scancel`` of the job in the middle of the run, then the same script submitted again
  (it always passes ``--resume``): the second job finishes the store, bit-identical.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from jkn_risk import results
from tests.cluster.helpers import (BLOCK, N_BLOCKS, ROOT, SIMS, TINY, assert_same_bits,
                                   blocks_done, slurm_cmd, wait_for_idle_node, wait_for_job)

pytestmark = pytest.mark.cluster

SBATCH = ROOT / "configs" / "cluster" / "jkn-run.sbatch"
README = ROOT / "configs" / "cluster" / "README.md"
#: this host instead of the script's 4 x 32-CPU nodes (command-line options beat #SBATCH lines)
SCALED = ["--nodes=1", "--cpus-per-task=2", "--mem=4G", "--time=00:10:00"]


def submit(store: Path, log_dir: Path) -> str:
    """``sbatch`` the batch script for tests/data/tiny.yaml into ``store``; the job id."""
    env = {**os.environ, "CONFIG": str(TINY), "SIMS": str(SIMS), "OUT": str(store),
           "RUN_ARGS": f"--block-size {BLOCK} --no-progress",
           "DASK_PORT": "0", "DASK_DASHBOARD": ":0"}  # free ports: tests may share the host
    wait_for_idle_node()
    return slurm_cmd("sbatch", "--parsable", *SCALED, f"--chdir={ROOT}",
                     f"--output={log_dir}/jkn-run-%j.out", str(SBATCH), env=env).split(";")[0]


def job_log(log_dir: Path, job: str) -> str:
    path = log_dir / f"jkn-run-{job}.out"
    return path.read_text()[-4000:] if path.exists() else "(no job output)"


def test_readme_shows_the_batch_script():
    """The README's Option B block is the file that these tests submit."""
    text = README.read_text()
    blocks = re.findall(r"```bash\n(#!/bin/bash\n.*?)```", text, flags=re.S)
    assert blocks, "no batch script in configs/cluster/README.md"
    assert blocks[0] == SBATCH.read_text()


def test_batch_script_same_bits(reference, tmp_path):
    store = tmp_path / "batch.zarr"
    job = submit(store, tmp_path)
    info = wait_for_job(job, timeout=150)
    assert (info["JobState"], info["ExitCode"]) == ("COMPLETED", "0:0"), job_log(tmp_path, job)
    assert_same_bits(store, reference)


def test_scancel_mid_run_then_resubmit_resumes_same_bits(reference, tmp_path):
    store = tmp_path / "requeued.zarr"
    first = submit(store, tmp_path)
    deadline = time.monotonic() + 150
    while len(blocks_done(store)) < 2:  # some blocks done, most not: cancel the job now
        state = slurm_cmd("squeue", "-h", "-j", first, "-o", "%T")
        assert state in ("PENDING", "CONFIGURING", "RUNNING") and time.monotonic() < deadline, \
            f"job {first} {state or 'ended'} before 2 blocks were done:\n" + job_log(tmp_path,
                                                                                   first)
        time.sleep(0.05)
    slurm_cmd("scancel", first)
    info = wait_for_job(first, timeout=60)
    assert info["JobState"] == "CANCELLED", info
    done = results.completed_blocks(store)
    assert 0 < len(done) < N_BLOCKS, f"cancelled with blocks {sorted(done)} done"
    with pytest.raises(results.IncompleteResultsError):
        results.open_results(store)

    second = submit(store, tmp_path)  # the same script: it passes --resume
    info = wait_for_job(second, timeout=150)
    assert (info["JobState"], info["ExitCode"]) == ("COMPLETED", "0:0"), job_log(tmp_path,
                                                                                 second)
    assert done <= results.completed_blocks(store)
    assert_same_bits(store, reference)
