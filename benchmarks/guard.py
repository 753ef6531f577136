"""Performance regression guard for the Numba hot loops (CI: ``scripts/ci_tests.py``).

    python benchmarks/guard.py                # check against benchmarks/baseline.json (exit 1 on a regression)
    python benchmarks/guard.py --json         # the same, as one JSON object
    python benchmarks/update_baseline.py      # rewrite the baseline, on purpose

Absolute times mean nothing on a shared machine (the same call drifts by 1.5-2x from one minute
to the next here), so each case is judged by a RATIO to a reference timed in the same process,
interleaved with it, and both are CPU times of the calling thread (``time.thread_time``: the
time slices that other processes take on a loaded machine do not count; every case runs on one
Numba thread, so all of its work is on this thread). Each case in turn runs its rounds back to
back, each round timing the reference, the case, the reference again; the case's figure is its
best time over the rounds divided by the best time of its reference (best of ``--rounds``,
15). Cases do not alternate with each other: run just before it, the individual kernel slowed
the collective one by 5-40% (by an amount that changed from run to run) and not the reference.

The reference is the random-number floor: a scalar xoshiro256** loop, :func:`_reference`,
written out HERE (not imported from ``jkn_risk``, so no change of the package can move the
yardstick), sized to take about as long as the case.

A case fails when its ratio exceeds its ratio in ``benchmarks/baseline.json`` (committed; the
median of several runs, written by ``update_baseline.py``) times ``TOLERANCE`` = 1.30. Measured
on this 2-vCPU VM over 30 runs at load averages 0.8-6.7 (quiet, and with 3 or 6 CPU-bound
processes beside it), every case's ratio lay within 0.95-1.12x of its median, so an unchanged
kernel stays below 1.30 with room to spare and a 1.5x slowdown shows as >= 1.42x
(benchmarks/README.md, "The regression guard"). The baseline records the CPU it was measured
on: on another CPU the ratios are printed, not judged (run ``update_baseline.py`` on the CI
machine once).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, uint64

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
BASELINE = HERE / "baseline.json"

#: Fail when ratio > baseline ratio x TOLERANCE (see the module docstring and the README).
TOLERANCE = 1.30
ROUNDS = 15
MIN_ROUNDS = 6
#: Wall-clock budget of the timed rounds (the guard's share of CI); rounds stop early past it,
#: never before MIN_ROUNDS.
BUDGET_S = 50.0


# ---------------------------------------------------------------------------------------------
# The reference (frozen: never import it from jkn_risk)
# ---------------------------------------------------------------------------------------------
@njit(cache=False)
def _reference(n):
    """``n`` xoshiro256** steps in one dependency chain (the RNG floor); returns a checksum."""
    s0 = uint64(0x0123456789ABCDEF)
    s1 = uint64(0x0FEDCBA987654321)
    s2 = uint64(0x1122334455667788)
    s3 = uint64(0x8877665544332211)
    acc = uint64(0)
    for _ in range(n):
        r = s1 * uint64(5)
        r = ((r << uint64(7)) | (r >> uint64(57))) * uint64(9)
        t = s1 << uint64(17)
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << uint64(45)) | (s3 >> uint64(19))
        acc ^= r
    return acc


def reference(n: int) -> int:
    return int(_reference(n))


# ---------------------------------------------------------------------------------------------
# The cases: the hot loops, through the public API, inputs built here (setup, not timed)
# ---------------------------------------------------------------------------------------------
def cases() -> dict:
    """``{name: callable}``, each ~5-30 ms of single-thread work on this VM."""
    from dataclasses import replace

    import numba

    from bench_kernel import CAP, kernel_args

    from jkn_risk.kernels import claims as K

    def cell(members, frequency, sigma, cap, method, n_cell=1, scale=None):
        args = kernel_args(members, 0.3, frequency, sigma, cap, method, n_cell=n_cell)
        if scale is not None:
            args["cost_scale"] = np.full((1, n_cell), scale)
        return lambda: K.simulate_cells(threads=1, **args)

    out = {
        "individual-poisson-sigma0-cap": cell(12_000_000, K.FREQ_POISSON, 0.0, CAP,
                                              K.METHOD_INDIVIDUAL),
        "individual-poisson-sigma0.3-cap": cell(5_000_000, K.FREQ_POISSON, 0.3, CAP,
                                                K.METHOD_INDIVIDUAL),
        "individual-negbin-sigma0.3-cap": cell(5_000_000, K.FREQ_NEGBIN, 0.3, CAP,
                                               K.METHOD_INDIVIDUAL),
        "individual-poisson-sigma0.3-cap-scale1.07": cell(5_000_000, K.FREQ_POISSON, 0.3, CAP,
                                                          K.METHOD_INDIVIDUAL, scale=1.07),
        "collective-poisson-sigma0-200cells": cell(10_000_000, K.FREQ_POISSON, 0.0, K.NO_CAP,
                                                   K.METHOD_COLLECTIVE, n_cell=200),
        "collective-negbin-sigma0.3-20cells": cell(250_000, K.FREQ_NEGBIN, 0.3, K.NO_CAP,
                                                   K.METHOD_COLLECTIVE, n_cell=20),
    }

    # The real tables: 2014, region R1 (10 cells) of the baseline with the 1,000-simulation
    # target's settings (individual, 100 M IDR cap, cost noise 0.3).
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run

    params = build_parameters(load_config(
        ROOT / "configs" / "jkn2014.yaml",
        ["simulation.method=individual", "policy.annual_benefit_cap=100000000",
         "case_mix.cost_noise_sigma=0.3"]))
    Y, R, S, C = params.shape
    n = S * C  # year 0, region 0
    kern = prepare_run(params).kernel
    first = replace(kern, cells=kern.cells[:n],
                    tables=kern.tables._replace(tariff=kern.tables.tariff[:n]))
    rate = (params.rate[0, 0] * np.asarray(params.ibnr_factor)).reshape(1, n)
    members = np.broadcast_to(np.rint(params.members[0, 0])[:, None], (S, C)).reshape(n)
    out["national-2014-R1-individual-cap100M-sigma0.3"] = \
        lambda: K.simulate_cells(first, np.arange(1), rate, members, threads=1)

    from jkn_risk.reserving import BootstrapODP, read_triangle

    tri = read_triangle(ROOT / "tests" / "data" / "triangles" / "genins.csv")
    boot = BootstrapODP(n_sims=100, random_state=0, process="gamma").fit(tri)

    def bootstrap():  # the Numba kernel alone (sample() redraws replicates), one thread
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            boot.sample(0, 10_000)
        finally:
            numba.set_num_threads(old)

    out["reserving-odp-bootstrap-gamma-10000"] = bootstrap
    return out


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------
def _time(fn) -> float:
    """CPU seconds of the calling thread spent in ``fn()``."""
    t = time.thread_time()
    fn()
    return time.thread_time() - t


def measure(case_fns: dict, rounds: int = ROUNDS, budget_s: float = BUDGET_S) -> dict:
    """Per case, rounds of reference / case / reference back to back; after ``MIN_ROUNDS``
    rounds a case starts no new round once its share of ``budget_s`` (wall time) is spent.

    Returns ``{case: {"case": [s...], "ref": [s...] (two per round), "ref_steps": n}}``.
    """
    for fn in case_fns.values():  # compile / load every specialisation, warm the caches
        fn()
        fn()
    reference(1000)
    # Reference size: about the case's own duration (the same scale of timer noise).
    t_step = min(_time(lambda: reference(2_000_000)) for _ in range(3)) / 2_000_000
    raw = {}
    for name, fn in case_fns.items():
        t_case = min(_time(fn) for _ in range(3))
        raw[name] = {"case": [], "ref": [], "ref_steps": max(100_000, int(t_case / t_step))}
    # One case at a time, its rounds back to back (every case is preceded by itself or by the
    # reference, never by another case: the individual kernel run just before slowed the
    # collective one by 5-40% here, by an amount that varied from run to run).
    share = budget_s / max(1, len(case_fns))
    for name, fn in case_fns.items():
        r = raw[name]
        fn()
        t0 = time.perf_counter()
        for k in range(rounds):
            if k >= MIN_ROUNDS and time.perf_counter() - t0 > share:
                break
            r["ref"].append(_time(lambda: reference(r["ref_steps"])))
            r["case"].append(_time(fn))
            r["ref"].append(_time(lambda: reference(r["ref_steps"])))
    return raw


def ratios(raw: dict) -> dict:
    """Per case: its best time over the best time per step of its reference, i.e. what the
    case costs in RNG-floor draws (millions)."""
    return {name: min(r["case"]) / (min(r["ref"]) / r["ref_steps"]) / 1e6
            for name, r in raw.items()}


def machine() -> dict:
    """The CPU (``cpu``: model name, family/model/stepping and the widest SIMD: what the ratios
    depend on) and the software versions."""
    import numba

    name, ident, simd = platform.processor() or platform.machine(), {}, "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                name = value
            elif key in ("cpu family", "model", "stepping"):
                ident[key] = value
            elif key == "flags":
                flags = set(value.split())
                simd = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "sse"
                break
    except OSError:
        pass
    fms = "/".join(ident.get(k, "?") for k in ("cpu family", "model", "stepping"))
    return {"cpu": f"{name} ({fms}, {simd})", "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__}


def check(got: dict, baseline: dict, tolerance: float) -> list[dict]:
    rows = []
    for name, ratio in got.items():
        base = baseline["ratios"].get(name)
        rel = None if base is None else ratio / base
        status = "new" if base is None else ("SLOWER" if rel > tolerance else
                                             "faster" if rel < 1.0 / tolerance else "ok")
        rows.append(dict(case=name, ratio=ratio, baseline=base, relative=rel, status=status))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--budget", type=float, default=BUDGET_S,
                    help=f"wall seconds for the timed rounds (at least {MIN_ROUNDS} rounds)")
    ap.add_argument("--json", action="store_true", help="one JSON object")
    ap.add_argument("--raw", metavar="FILE", help="append the raw timings to FILE (JSON lines)")
    ap.add_argument("--baseline", default=str(BASELINE))
    ap.add_argument("--tolerance", type=float, default=None,
                    help=f"default: the baseline's, else {TOLERANCE}")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    raw = measure(cases(), a.rounds, a.budget)
    got = ratios(raw)
    mach = machine()
    if a.raw:
        with open(a.raw, "a") as f:
            f.write(json.dumps({"time": time.time(), "load": os.getloadavg()[0], "raw": raw,
                                "machine": mach}) + "\n")
    text = Path(a.baseline).read_text() if Path(a.baseline).is_file() else ""
    baseline = json.loads(text) if text.strip() else {"ratios": {}, "machine": mach}
    tol = a.tolerance or baseline.get("tolerance", TOLERANCE)
    rows = check(got, baseline, tol)
    same_cpu = baseline.get("machine", {}).get("cpu") == mach["cpu"]
    failed = [r for r in rows if r["status"] == "SLOWER"] if same_cpu else []
    seconds = time.perf_counter() - t0
    if a.json:
        print(json.dumps(dict(rows=rows, tolerance=tol, same_cpu=same_cpu, seconds=seconds,
                              load_average_1min=os.getloadavg()[0], machine=mach,
                              passed=not failed)))
    else:
        n_rounds = len(next(iter(raw.values()))["case"])
        print(f"benchmark guard: each case's best CPU time in RNG-floor draws (millions; the "
              f"reference interleaved, best of {n_rounds} rounds); fails above baseline x "
              f"{tol:.2f}")
        print(f"{'case':46s} {'ratio':>8s} {'baseline':>9s} {'x base':>7s}  status")
        for r in rows:
            b = "-" if r["baseline"] is None else f"{r['baseline']:9.3f}"
            x = "-" if r["relative"] is None else f"{r['relative']:7.2f}"
            print(f"{r['case']:46s} {r['ratio']:8.3f} {b:>9s} {x:>7s}  {r['status']}")
        if not same_cpu:
            print(f"baseline measured on {baseline.get('machine', {}).get('cpu')!r}, this is "
                  f"{mach['cpu']!r}: ratios reported, not judged (run "
                  "benchmarks/update_baseline.py on this machine)")
        if any(r["status"] == "faster" for r in rows):
            print("a case is faster than its baseline by more than the tolerance: if that is "
                  "the change's doing, run benchmarks/update_baseline.py and commit the result")
        print(f"{'FAILED' if failed else 'passed'}: {len(failed)} of {len(rows)} cases slower "
              f"than baseline x {tol:.2f}; {seconds:.0f} s, load average "
              f"{os.getloadavg()[0]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
