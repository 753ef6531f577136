"""Strong scaling of a run on Dask workers, and a cost model that extrapolates it to 1,000.

    python benchmarks/bench_scaling.py [--sims 16] [--block-size 2] [--workers 1,2] [--repeat 1]
                                       [--target-sims 100000] [--target-workers 1000]
                                       [--quick] [--json] [--json-out FILE]

1. **Strong scaling, measured**: ``configs/jkn2014.yaml`` in individual mode (100 M IDR cap, cost
   noise 0.3: bench_run.INDIVIDUAL), a fixed number of simulations and block size, on a warm
   LocalCluster of 1, 2, ... single-threaded worker processes (started, kernels loaded, then
   ``orchestrate.run(..., scheduler=...)`` timed: store template, dispatch, block writes, block
   marks). Speed-up ``S(N) = T(1) / T(N)`` and efficiency ``S(N) / N`` against the 1-worker time
   of the same round; rounds alternate worker counts, and the machine's own 2-process ceiling is
   printed beside them (a shared VM rarely gives 2.0).
2. **The cost model's inputs, measured here** (each on its own, one process unless said):
   ``t_sim`` seconds per simulation on one core; ``write`` seconds per ``results.write_block``
   of one block, its bytes and files; ``mark`` seconds per ``results.mark_done`` (the client,
   serially, per block); ``template`` seconds of ``results.create_store`` per block (fitted on
   two sizes); ``dispatch`` seconds per task of Dask's scheduler and client pipeline (no-op
   tasks submitted as orchestrate does: a scattered argument, a key, retries; drained with
   ``as_completed`` and ``result()``), and ``submit`` its client-side submission cost;
   ``client_start`` (imports, config, IBNR bootstrap: a fresh interpreter) and ``worker_start``
   (a fresh worker's imports and kernel load, beyond one simulation).
3. **The model** for ``n`` simulations in ``K = ceil(n / b)`` blocks of ``b`` on ``N`` workers::

       tau    = b * t_sim + write(b)                         one task on a worker [s]
       start  = client_start + worker_start + K * (template + submit)       serial, once
       work   = max(ceil(K / N), K / N + (1 - 1/N) / 2) * tau               waves + tail
       serial = K * (dispatch + mark)          the scheduler and the client, one block at a time
       T(N)   = start + max(work, serial + tau)
       E(N)   = T(1) / (N * T(N))

   ``work``'s tail is half a task per worker on average (workers start at different moments,
   so they finish their last task at different moments); ``serial`` is the throughput limit of
   the one scheduler and the one client, which handle every block. The model is checked
   against the measured 1- and 2-worker runs (printed side by side), then evaluated for the
   target (default 100,000 individual-mode simulations of configs/jkn2014.yaml on 1,000
   workers) for a range of block sizes: the range where ``E >= 0.9``, the result's size and the
   write rate the shared filesystem must sustain.

Figures are measured, never asserted; compare ratios within one run. The ``if __name__ ==
"__main__":`` guard is required: Dask's worker processes are spawned.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_run import BASELINE, INDIVIDUAL, _warm_workers, parallel_ceiling  # noqa: E402

from jkn_risk import orchestrate, results  # noqa: E402
from jkn_risk.config import load_config  # noqa: E402
from jkn_risk.parameters import build_parameters  # noqa: E402

BLOCK_CANDIDATES = (1, 2, 4, 5, 10, 20, 25, 50, 100)


# --------------------------------------------------------------------------- helpers
@contextmanager
def local_cluster(n_workers: int):
    """What ``jkn-risk run --workers N`` starts: N single-threaded worker processes, one Numba
    thread each."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      env={"NUMBA_NUM_THREADS": "1"}, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        yield client


def _individual(n_sims: int, block_size: int | None = None):
    extra = [f"simulation.block_size={block_size}"] if block_size else []
    return build_parameters(load_config(BASELINE,
                                        [*INDIVIDUAL, f"simulation.n_sims={n_sims}", *extra]))


def _median(xs) -> float:
    return float(statistics.median(xs))


def _noop(params, i):
    return i


# --------------------------------------------------------------------------- 1. strong scaling
def strong_scaling(params, workers: list[int], repeat: int, workdir: Path,
                   emit) -> list[dict]:
    """Warm clusters of each size, alternating, ``repeat`` rounds; one row per run."""
    rows = []
    for rnd in range(repeat):
        for n in workers:
            store = workdir / f"strong-{n}-{rnd}.zarr"
            shutil.rmtree(store, ignore_errors=True)
            with local_cluster(n) as client:
                t0 = time.perf_counter()
                _warm_workers(client, params)
                warm = time.perf_counter() - t0
                t0 = time.perf_counter()
                orchestrate.run(params, store, scheduler=client.scheduler.address,
                                progress=False)
                wall = time.perf_counter() - t0
            shutil.rmtree(store, ignore_errors=True)
            rows.append({"case": "strong", "round": rnd, "workers": n,
                         "n_sims": int(params.n_sims), "block_size": int(params.block_size),
                         "wall_s": round(wall, 2), "first_warmup_s": round(warm, 2),
                         "load_avg_1min": round(os.getloadavg()[0], 2)})
            emit(rows[-1])
    for row in rows:  # against the 1-worker time of the same round
        one = next(r for r in rows if r["round"] == row["round"] and r["workers"] == min(workers))
        row["speedup"] = round(one["wall_s"] * min(workers) / row["wall_s"], 3)
        row["efficiency"] = round(row["speedup"] / row["workers"], 3)
    return rows


# --------------------------------------------------------------------------- 2. model inputs
@dataclass
class Costs:
    """Measured inputs of the cost model [s, bytes]."""
    t_sim: float            # one simulation, one core
    write_block: float      # results.write_block of one block of `block` sims
    write_per_sim: float    # its part that grows with the block (fitted on 1 and `block` sims)
    block_bytes_per_sim: float  # in-memory size of the results of one simulation
    store_bytes_per_sim: float  # on disk, apparent (compressed chunks)
    files_per_block: int    # chunk files one block write creates
    mark: float             # results.mark_done, per block (client)
    template: float         # results.create_store, per block
    template0: float        # ... fixed part
    dispatch: float         # Dask scheduler + client pipeline per task (no-op tasks, 2 workers)
    submit: float           # client.submit per task
    client_start: float     # a fresh `jkn-risk run` process up to the first block
    worker_start: float     # a fresh worker's imports and kernel load

    def write(self, b: int) -> float:
        return max(self.write_block - self.write_per_sim * self.block, 0.0) + self.write_per_sim * b

    block: int = 2


def measure_costs(params, workdir: Path, quick: bool) -> Costs:
    from jkn_risk.simulate import prepare_run, simulate_block

    b = int(params.block_size)
    prepared = prepare_run(params)
    simulate_block(prepare_run(replace(params, n_sims=1)), np.array([0]), threads=1)  # loaded
    t0 = time.perf_counter()
    ds = simulate_block(prepared, np.arange(b, dtype=np.int64), threads=1)
    t_sim = (time.perf_counter() - t0) / b
    ds1 = ds.isel(sim=slice(0, 1))

    tpl, static = prepared.template(), prepared.static()
    k_small, k_big = (50, 200) if quick else (1000, 4000)  # 100,000 sims: 1,000-100,000 blocks
    times = {}
    for k in (k_small, k_big):
        path = workdir / f"template-{k}.zarr"
        t0 = time.perf_counter()
        results.create_store(path, params, k * b, b, template=tpl, static=static)
        times[k] = time.perf_counter() - t0
    template = (times[k_big] - times[k_small]) / (k_big - k_small)
    template0 = max(times[k_small] - k_small * template, 0.0)

    store = workdir / f"template-{k_big}.zarr"
    before = {p for p in store.rglob("*") if p.is_file()}
    m = 10 if quick else 40
    writes = []
    for i in range(m):
        block = ds.assign_coords(sim=np.arange(i * b, (i + 1) * b, dtype=np.int64))
        t0 = time.perf_counter()
        results.write_block(store, block, i * b)
        writes.append(time.perf_counter() - t0)
    new = [p for p in store.rglob("*") if p.is_file() and p not in before]
    stored = sum(p.stat().st_size for p in new)
    marks = []
    for i in range(m):
        t0 = time.perf_counter()
        results.mark_done(store, i)
        marks.append(time.perf_counter() - t0)
    # the part of a write that grows with the block: one-simulation blocks in a b=1 store
    store1 = workdir / "template-b1.zarr"
    results.create_store(store1, params, m, 1, template=tpl, static=static)
    writes1 = []
    for i in range(m):
        t0 = time.perf_counter()
        results.write_block(store1, ds1.assign_coords(sim=np.array([i], dtype=np.int64)), i)
        writes1.append(time.perf_counter() - t0)
    per_sim = max((_median(writes) - _median(writes1)) / max(b - 1, 1), 0.0)

    dispatch, submit = measure_dispatch(params, 300 if quick else 2000)
    return Costs(t_sim=t_sim, write_block=_median(writes), write_per_sim=per_sim,
                 block_bytes_per_sim=ds.nbytes / b, store_bytes_per_sim=stored / (m * b),
                 files_per_block=round(len(new) / m), mark=_median(marks), template=template,
                 template0=template0, dispatch=dispatch, submit=submit,
                 client_start=measure_client_start(), worker_start=measure_worker_start(params),
                 block=b)


def measure_dispatch(params, n_tasks: int) -> tuple[float, float]:
    """(seconds per task through the scheduler and the client, seconds per submit): no-op tasks
    on 2 warm workers, submitted and drained the way orchestrate does it."""
    from distributed import as_completed

    with local_cluster(2) as client:
        client.run(lambda: None)
        p = client.scatter(params, broadcast=True, hash=False)
        t0 = time.perf_counter()
        futures = [client.submit(_noop, p, i, key=f"noop-{i}", retries=2, pure=False)
                   for i in range(n_tasks)]
        submit = (time.perf_counter() - t0) / n_tasks
        for fut in as_completed(futures):
            fut.result()
        wall = time.perf_counter() - t0
    return wall / n_tasks, submit


def measure_client_start() -> float:
    """A fresh interpreter: `jkn-risk run`'s imports, the config, the IBNR bootstrap and what
    every block shares (``prepare_run``)."""
    code = ("import time; t = time.perf_counter()\n"
            "import distributed, jkn_risk.cli, jkn_risk.orchestrate, jkn_risk.simulate\n"
            "from jkn_risk.config import load_config\n"
            "from jkn_risk.parameters import build_parameters\n"
            "from jkn_risk.simulate import prepare_run\n"
            f"prepare_run(build_parameters(load_config({str(BASELINE)!r}, {INDIVIDUAL!r})))\n"
            "print(time.perf_counter() - t)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    inside = float(out.stdout.strip().splitlines()[-1])
    return max(time.perf_counter() - t0, inside)


def measure_worker_start(params) -> float:
    """A fresh worker: imports and kernels loaded by its first (one-simulation) task, less
    one simulation."""
    with local_cluster(1) as client:
        t0 = time.perf_counter()
        _warm_workers(client, params)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        _warm_workers(client, params)
        again = time.perf_counter() - t0
    return max(first - again, 0.0)


# --------------------------------------------------------------------------- 3. the model
def model(c: Costs, n_sims: int, b: int, n_workers: int) -> dict:
    k = math.ceil(n_sims / b)
    tau = b * c.t_sim + c.write(b)
    start = c.client_start + c.worker_start + c.template0 + k * (c.template + c.submit)
    waves = math.ceil(k / n_workers)
    work = max(waves, k / n_workers + (1 - 1 / n_workers) / 2) * tau
    serial = k * (c.dispatch + c.mark)
    total = start + max(work, serial + tau)
    return {"blocks": k, "task_s": tau, "start_s": start, "work_s": work, "serial_s": serial,
            "wall_s": total, "limited_by": "work" if work >= serial + tau else "serial"}


def efficiency(c: Costs, n_sims: int, b: int, n_workers: int) -> float:
    return model(c, n_sims, b, 1)["wall_s"] / (n_workers * model(c, n_sims, b,
                                                                 n_workers)["wall_s"])


def warm_model(c: Costs, n_sims: int, b: int, n_workers: int) -> float:
    """The model for a strong-scaling row: a warm cluster, so no client or worker start."""
    warm = replace(c, client_start=0.0, worker_start=0.0)
    return model(warm, n_sims, b, n_workers)["wall_s"]


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=None, help="simulations (16; --quick 4)")
    ap.add_argument("--block-size", type=int, default=2)
    ap.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the strong-scaling runs")
    ap.add_argument("--target-sims", type=int, default=100_000)
    ap.add_argument("--target-workers", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the rows there")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    sims = args.sims or (4 if args.quick else 16)
    workers = sorted({int(w) for w in args.workers.split(",")})
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="jkn-scaling-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []

    def emit(row):
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)

    def say(text):
        if not args.json:
            print(text, flush=True)

    params = _individual(sims, args.block_size)
    ceiling = parallel_ceiling(2_000_000 if args.quick else 20_000_000)
    emit(ceiling)
    say(f"machine: {os.cpu_count()} cpus; 2 CPU-bound processes at once give "
        f"{ceiling['speedup']}x one (load {ceiling['load_avg_1min']})")

    say(f"\n1. strong scaling: configs/jkn2014.yaml, individual mode, {sims} sims in blocks of "
        f"{args.block_size}, warm LocalCluster (start-up excluded)")
    strong = strong_scaling(params, workers, args.repeat, workdir, emit=lambda r: None)
    for r in strong:
        emit(r)

    say("2. measuring the cost model's inputs ...")
    costs = measure_costs(params, workdir, args.quick)
    emit({"case": "costs", **{k: (round(v, 6) if isinstance(v, float) else v)
                              for k, v in asdict(costs).items()}})
    ceiling2 = parallel_ceiling(2_000_000 if args.quick else 20_000_000)
    emit({**ceiling2, "case": "machine/2-process-ceiling (after)"})
    for r in strong:
        r["model_wall_s"] = round(warm_model(costs, sims, args.block_size, r["workers"]), 2)

    target = {}
    for b in BLOCK_CANDIDATES:
        m = model(costs, args.target_sims, b, args.target_workers)
        target[b] = {**m, "efficiency": efficiency(costs, args.target_sims, b,
                                                   args.target_workers)}
        emit({"case": "model", "n_sims": args.target_sims, "workers": args.target_workers,
              "block_size": b, **{k: (round(v, 3) if isinstance(v, float) else v)
                                  for k, v in target[b].items()}})
    ok = [b for b in BLOCK_CANDIDATES if target[b]["efficiency"] >= 0.9]
    best = max(BLOCK_CANDIDATES, key=lambda b: target[b]["efficiency"])
    auto = orchestrate.auto_block_size(_individual(args.target_sims))
    # the same without the store template's per-block cost (if create_store were O(1))
    flat = replace(costs, template=0.0)
    flat_eff = {b: efficiency(flat, args.target_sims, b, args.target_workers)
                for b in BLOCK_CANDIDATES}
    emit({"case": "recommendation", "n_sims": args.target_sims,
          "workers": args.target_workers, "blocks_above_90pct": ok, "best_block": best,
          "best_efficiency": round(target[best]["efficiency"], 3),
          "auto_block_size": auto,
          "auto_efficiency": round(efficiency(costs, args.target_sims, auto,
                                              args.target_workers), 3),
          "efficiency_without_template_cost": {b: round(e, 3) for b, e in flat_eff.items()}})
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if not args.json:
        _report(strong, costs, target, args, ok, best, auto, flat_eff, ceiling, ceiling2)
    return rows


def _report(strong, c, target, args, ok, best, auto, flat_eff, ceiling, ceiling2):
    print("\n| round | workers | wall [s] | speed-up | efficiency | model [s] | load |")
    print("|---|---|---|---|---|---|---|")
    for r in strong:
        print(f"| {r['round']} | {r['workers']} | {r['wall_s']:.1f} | {r['speedup']:.2f} | "
              f"{r['efficiency']:.0%} | {r['model_wall_s']:.1f} | {r['load_avg_1min']} |")
    print(f"(2-process ceiling of this machine: {ceiling['speedup']}x before, "
          f"{ceiling2['speedup']}x after)")
    n, nw = args.target_sims, args.target_workers
    print(f"\ncost model inputs (measured here): t_sim {c.t_sim:.3f} s; write_block "
          f"{c.write_block * 1e3:.1f} ms per {c.block}-sim block (+{c.write_per_sim * 1e3:.2f} ms "
          f"per sim), {c.files_per_block} files, {c.store_bytes_per_sim / 1e3:.1f} kB per sim on "
          f"disk ({c.block_bytes_per_sim / 1e3:.1f} kB in memory); mark_done "
          f"{c.mark * 1e3:.2f} ms; create_store {c.template * 1e3:.2f} ms per block "
          f"+ {c.template0:.2f} s; Dask dispatch {c.dispatch * 1e3:.2f} ms per task "
          f"(submit {c.submit * 1e3:.2f} ms); client start {c.client_start:.1f} s; worker start "
          f"{c.worker_start:.1f} s")
    print(f"\n{n:,} individual simulations on {nw:,} workers "
          f"(one core: {n * c.t_sim / 3600:.1f} h of simulation):")
    print("\n| block | tasks | task [s] | start [s] | work [s] | serial [s] | wall [s] | "
          "efficiency | (no template cost) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for b, m in target.items():
        print(f"| {b} | {m['blocks']:,} | {m['task_s']:.1f} | {m['start_s']:.0f} | "
              f"{m['work_s']:.0f} | {m['serial_s']:.0f} | {m['wall_s']:.0f} | "
              f"{m['efficiency']:.0%} | {flat_eff[b]:.0%} |")
    m = target[best]
    size = n * c.store_bytes_per_sim
    print(f"\nabove 90%: block sizes {ok or 'none'}; best {best} ({m['efficiency']:.0%}); "
          f"auto_block_size gives {auto}")
    print(f"result: {size / 2**30:.2f} GiB on disk, {m['blocks'] * c.files_per_block:,} chunk "
          f"files; at block {best} the workers write {size / m['work_s'] / 2**20:.1f} MiB/s and "
          f"{m['blocks'] * c.files_per_block / m['work_s']:.0f} files/s together; the client "
          f"marks {m['blocks'] / m['work_s']:.0f} blocks/s (capacity "
          f"{1 / (c.dispatch + c.mark):.0f}/s)")


if __name__ == "__main__":
    main()
