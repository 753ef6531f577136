"""The machine's ceiling for the claims kernel itself: one process, then two at once.

    python benchmarks/kernel_ceiling.py [--seconds 4] [--members 10000000]

Each process runs ``simulate_cells(threads=1)`` on the benchmark's 10 M-member cell (Poisson,
sigma 0 and 0.3) for ``--seconds`` and reports member-years per second. Two independent
processes share nothing, so their summed throughput over one process's is the most that two
threads of the same code can reach on this machine now; a Python spin loop (bench_run's
2-process ceiling) says less when the two virtual CPUs share a physical core.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(seconds: float, members: int, sigma: float) -> float:
    sys.path.insert(0, HERE)
    from bench_kernel import CAP, kernel_args

    from jkn_risk.kernels import claims as K

    args = kernel_args(members, 0.3, K.FREQ_POISSON, sigma, CAP, K.METHOD_INDIVIDUAL)
    K.simulate_cells(threads=1, **args)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        K.simulate_cells(threads=1, **args)
        done += members
    return done / (time.perf_counter() - t0)


def _spawn(seconds, members, sigma, n):
    cmd = [sys.executable, __file__, "--worker", "--seconds", str(seconds), "--members",
           str(members), "--sigma", str(sigma)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    return [float(p.communicate()[0]) for p in procs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--members", type=int, default=10_000_000)
    ap.add_argument("--sigma", type=float, default=None)
    ap.add_argument("--worker", action="store_true")
    a = ap.parse_args(argv)
    if a.worker:
        print(worker(a.seconds, a.members, a.sigma))
        return
    for sigma in ((a.sigma,) if a.sigma is not None else (0.0, 0.3)):
        _spawn(0.5, a.members, sigma, 1)  # load the cached kernels once
        one = _spawn(a.seconds, a.members, sigma, 1)[0]
        two = _spawn(a.seconds, a.members, sigma, 2)
        print(f"sigma {sigma}: one process {one / 1e6:.0f} M member-years/s; two at once "
              f"{two[0] / 1e6:.0f} + {two[1] / 1e6:.0f} = {sum(two) / one:.2f}x one", flush=True)


if __name__ == "__main__":
    main()
