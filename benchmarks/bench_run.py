"""End-to-end run benchmarks: `orchestrate.run` on the baseline, serial vs Dask workers.

    python benchmarks/bench_run.py [--quick] [--json] [--sims N] [--individual-sims N]
                                   [--big-sims N] [--big-config FILE] [--only-big]
                                   [--skip-individual]

Cases (each a complete ``orchestrate.run`` into a fresh Zarr store: template, blocks, marks;
Dask cases include starting and stopping the LocalCluster, except ``-warm`` ones, timed on a
cluster already started with its kernels loaded, through ``--scheduler``):

* ``collective``: configs/jkn2014.yaml as shipped (no cap, no cost noise: collective claims);
  ``serial`` (``--workers 0``, Numba threads = all cores), ``serial-1t`` (one Numba thread: the
  fair baseline for one worker), ``dask-1`` and ``dask-2`` (LocalCluster of 1 or 2
  single-threaded worker processes).
* ``individual``: the same with ``method: individual``, a 100 M IDR annual cap and lognormal
  cost noise ``sigma = 0.3``: few simulations (``--individual-sims``), extrapolated to 1,000.
* ``big`` (``--big-sims``, off in ``--quick``): collective, 2 workers, for the memory and
  store-size targets at 10,000 simulations; ``--big-config configs/jkn2024.yaml --only-big
  --big-sims 10000`` is issue 15's target (the 2024 base with its fund and default uncertainty),
  with the CPU cost of one simulation on one thread (a 50-simulation ``simulate_block`` in this
  process) and the machine's 2-process ceiling measured in the same run.

Per case: wall time, simulations per second, the block size, peak RSS of the largest worker
process (sampled every 0.1 s with psutil; the bench process itself for serial cases) and the
store's size on disk. Figures are measured, never asserted: compare ratios within one run.
The ``if __name__ == "__main__":`` guard is required: Dask's worker processes are spawned.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numba
import psutil

from jkn_risk import orchestrate
from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "jkn2014.yaml"
INDIVIDUAL = ["simulation.method=individual", "policy.annual_benefit_cap=100000000",
              "case_mix.cost_noise_sigma=0.3"]


class RSSMonitor:
    """Peak resident memory of this process's child processes (Dask workers), by pid."""

    def __init__(self, interval=0.1):
        self.interval, self.peak, self._stop = interval, {}, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[child.pid] = max(self.peak.get(child.pid, 0), rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _du(path: Path) -> tuple[int, int]:
    """(apparent bytes, bytes allocated on disk) of a directory tree."""
    files = [f.stat() for f in path.rglob("*") if f.is_file()]
    return sum(s.st_size for s in files), sum(s.st_blocks * 512 for s in files)


_SPIN = ("import time\nt=time.perf_counter()\nx=0\nfor i in range({n}): x+=i\n"
         "print(time.perf_counter()-t)")


def parallel_ceiling(n_loop: int = 20_000_000) -> dict:
    """The machine's own parallel speed-up right now: one CPU-bound Python process alone, then
    two at once (ideal 2.0). On a shared machine this bounds what 2 workers can show."""
    import subprocess

    code = _SPIN.format(n=n_loop)
    one = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    two = max(float(p.communicate()[0]) for p in procs)
    return {"case": "machine/2-process-ceiling", "one_process_s": round(one, 3),
            "two_processes_s": round(two, 3), "speedup": round(2 * one / two, 2),
            "load_avg_1min": round(os.getloadavg()[0], 2)}


def _self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_workers(client, params):
    """Import and load the kernels in every worker (what a long-running cluster has done)."""
    def go():
        import numpy as np
        from jkn_risk.simulate import prepare_run, simulate_block
        simulate_block(prepare_run(replace(params, n_sims=1)), np.array([0]), threads=1)
        return True
    client.run(go)


def run_case(label, params, workdir: Path, workers: int, threads: int | None = None,
             warm: bool = False) -> dict:
    store = workdir / f"{label}.zarr"
    shutil.rmtree(store, ignore_errors=True)
    old = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        with RSSMonitor() as mon:
            if warm:  # a cluster already up, kernels loaded: the per-task overhead only
                with orchestrate._dask_client(workers, None) as client:
                    _warm_workers(client, params)
                    t0 = time.perf_counter()
                    orchestrate.run(params, store, scheduler=client.scheduler.address,
                                    progress=False)
                    wall = time.perf_counter() - t0
            else:
                t0 = time.perf_counter()
                orchestrate.run(params, store, workers=workers, progress=False)
                wall = time.perf_counter() - t0
    finally:
        numba.set_num_threads(old)
    workers_mb = [v / 2**20 for v in mon.peak.values() if v > 60 * 2**20]  # skip helpers
    size, disk = _du(store)
    shutil.rmtree(store, ignore_errors=True)
    block = params.block_size or orchestrate.auto_block_size(params)
    return {
        "case": label, "n_sims": params.n_sims, "workers": workers,
        "numba_threads": threads or (1 if workers else numba.config.NUMBA_NUM_THREADS),
        "block_size": block, "wall_s": round(wall, 3),
        # auto_block_size's cost model: one simulation on one core [s]
        "model_s_per_sim": round(orchestrate.estimate_seconds_per_sim(params), 4),
        "sims_per_s": round(params.n_sims / wall, 4),
        "peak_rss_worker_mb": round(max(workers_mb), 1) if workers_mb else None,
        "peak_rss_main_mb": round(_self_peak_mb(), 1),
        "store_mb": round(size / 2**20, 3),
        "store_mb_per_10k_sims": round(size / params.n_sims * 10_000 / 2**20, 1),
        "store_disk_mb": round(disk / 2**20, 3),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def cpu_per_sim(params, n: int = 50) -> float:
    """CPU seconds of one simulation on one thread: a ``simulate_block`` of ``n`` in this
    process (``time.thread_time``, which other processes' time slices do not inflate)."""
    import numpy as np
    from jkn_risk.simulate import prepare_run, simulate_block

    prepared = prepare_run(params)
    t0 = time.thread_time()
    simulate_block(prepared, np.arange(n, dtype=np.int64), threads=1)
    return (time.thread_time() - t0) / n


def warmup(params):
    """Compile / load every kernel once in this process (JIT-aware benchmarks)."""
    from jkn_risk.simulate import prepare_run, simulate_block
    import numpy as np

    simulate_block(prepare_run(replace(params, n_sims=1)), np.array([0]))
    simulate_block(prepare_run(replace(params, n_sims=1)), np.array([0]), threads=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    ap.add_argument("--sims", type=int, default=None, help="collective simulations (200)")
    ap.add_argument("--individual-sims", type=int, default=None, help="individual sims (4)")
    ap.add_argument("--big-sims", type=int, default=None, help="collective, 2 workers (0: skip)")
    ap.add_argument("--big-config", type=Path, default=BASELINE,
                    help="config of the big case (default configs/jkn2014.yaml)")
    ap.add_argument("--only-big", action="store_true", help="the big case alone")
    ap.add_argument("--skip-individual", action="store_true")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    sims = args.sims or (8 if args.quick else 200)
    ind_sims = args.individual_sims or (1 if args.quick else 4)
    big = args.big_sims if args.big_sims is not None else 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="jkn-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    base = build_parameters(load_config(BASELINE, [f"simulation.n_sims={sims}"]))
    warmup(base)
    if args.only_big:
        big = big or 10_000
    rows = []
    ncpu = os.cpu_count()
    ceiling = parallel_ceiling(2_000_000 if args.quick else 20_000_000)
    rows.append(ceiling)
    if args.json:
        print(json.dumps(ceiling), flush=True)
    else:
        print(f"machine: 2 CPU-bound processes at once give {ceiling['speedup']}x one "
              f"(ideal 2.0; {ceiling['one_process_s']} s alone, {ceiling['two_processes_s']} s "
              f"together; load {ceiling['load_avg_1min']})", flush=True)
    cases = [("collective/serial", 0, None, False), ("collective/serial-1t", 0, 1, False),
             ("collective/dask-1", 1, None, False), ("collective/dask-2", 2, None, False),
             ("collective/dask-1-warm", 1, None, True), ("collective/dask-2-warm", 2, None, True)]
    for label, workers, threads, warm in ([] if args.only_big else cases):
        rows.append(run_case(label.replace("/", "-"), base, workdir, workers, threads, warm))
        rows[-1]["case"] = label
        _emit(rows[-1], args.json)
    if not (args.skip_individual or args.only_big):
        ind = build_parameters(load_config(BASELINE,
                                           [*INDIVIDUAL, f"simulation.n_sims={ind_sims}"]))
        warmup(ind)
        for label, workers in (("individual/serial", 0), ("individual/dask-2", 2)):
            row = run_case(label.replace("/", "-"), ind, workdir, workers)
            row["case"] = label
            row["extrapolated_1000_sims_min"] = round(1000 / row["sims_per_s"] / 60, 1)
            rows.append(row)
            _emit(row, args.json)
    if big:
        p = build_parameters(load_config(args.big_config, [f"simulation.n_sims={big}"]))
        warmup(p)
        cpu = cpu_per_sim(p)
        row = run_case("collective-big", p, workdir, 2)
        row["case"] = f"collective/dask-2 (big, {args.big_config.stem})"
        row["cpu_ms_per_sim_1thread"] = round(cpu * 1e3, 2)
        rows.append(row)
        _emit(row, args.json)
    shutil.rmtree(workdir, ignore_errors=True)
    if not args.json:
        _summary(rows, ncpu)
    return rows


def _emit(row, as_json):
    if as_json:
        print(json.dumps(row), flush=True)
    else:
        print(f"{row['case']:<26} sims={row['n_sims']:<6} block={row['block_size']:<4} "
              f"wall={row['wall_s']:>8.2f} s  {row['sims_per_s']:>8.3f} sims/s  "
              f"worker RSS={row['peak_rss_worker_mb']} MB  store={row['store_mb']} MB "
              f"(~{row['store_mb_per_10k_sims']} MB / 10k sims; {row['store_disk_mb']} MB on disk) "
              f"load {row['load_avg_1min']}  (model: {row['model_s_per_sim']} s/sim on one core)"
              + (f"  -> 1,000 sims ~{row['extrapolated_1000_sims_min']} min"
                 if "extrapolated_1000_sims_min" in row else "")
              + (f"  one simulation: {row['cpu_ms_per_sim_1thread']} ms CPU on one thread"
                 if "cpu_ms_per_sim_1thread" in row else ""), flush=True)


def _summary(rows, ncpu):
    by = {r["case"]: r for r in rows}
    print(f"\nmachine: {platform.processor() or platform.machine()}, {ncpu} cores, "
          f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
          f"numba {numba.__version__}")
    s1, d1, d2 = (by.get(k) for k in ("collective/serial-1t", "collective/dask-1",
                                      "collective/dask-2"))
    if s1 and d1:
        print(f"dask-1 / serial-1t wall: {d1['wall_s'] / s1['wall_s']:.2f} (target <= 1.10)")
    if d1 and d2:
        print(f"dask-2 speed-up over dask-1: {d1['wall_s'] / d2['wall_s']:.2f} (target >= 1.8)")
    w1, w2 = by.get("collective/dask-1-warm"), by.get("collective/dask-2-warm")
    if s1 and w1 and w2:
        print(f"warm cluster: dask-1 / serial-1t {w1['wall_s'] / s1['wall_s']:.2f}, "
              f"dask-2 speed-up over dask-1 {w1['wall_s'] / w2['wall_s']:.2f}")
    ind = by.get("individual/dask-2")
    col = by.get("collective/dask-2")
    if ind and col:
        print(f"individual, 1,000 sims on 2 workers: ~{ind['extrapolated_1000_sims_min']} min "
              f"(target <= 20); collective/individual speed: "
              f"{col['sims_per_s'] / ind['sims_per_s']:.0f}x (target >= 10x)")


if __name__ == "__main__":
    main(sys.argv[1:])
