"""Thread scaling of the claims kernel beside the machine's own 2-process ceiling.

    python benchmarks/bench_threads.py [--sittings 3] [--rounds 7] [--members 10000000]

One 10 M-member cell (rate 0.3, 1,077 groups, cap 50 M; Poisson and NB, sigma 0 and 0.3) timed
with 1 and 2 Numba threads in alternating rounds (best of ``--rounds`` each), per sitting, with
the 2-process ceiling (two CPU-bound Python processes at once versus one; ideal 2.0) measured
before and after: on a shared VM that ceiling moves from minute to minute, so a sitting's
speed-ups are only meaningful beside it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_kernel import CAP, kernel_args  # noqa: E402
from bench_run import parallel_ceiling  # noqa: E402

from jkn_risk.kernels import claims as K  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sittings", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--members", type=int, default=10_000_000)
    a = ap.parse_args(argv)
    cases = {(f, s): kernel_args(a.members, 0.3, f, s, CAP, K.METHOD_INDIVIDUAL)
             for f in (K.FREQ_POISSON, K.FREQ_NEGBIN) for s in (0.0, 0.3)}
    for args in cases.values():  # compile / load both paths
        K.simulate_cells(threads=1, **args)
        K.simulate_cells(threads=2, **args)
    for sitting in range(1, a.sittings + 1):
        before = parallel_ceiling(20_000_000)["speedup"]
        parts = []
        for (freq, sigma), args in cases.items():
            best = {1: float("inf"), 2: float("inf")}
            for _ in range(a.rounds):
                for threads in (1, 2):
                    t = time.perf_counter()
                    K.simulate_cells(threads=threads, **args)
                    best[threads] = min(best[threads], time.perf_counter() - t)
            name = "poisson" if freq == K.FREQ_POISSON else "negbin"
            parts.append(f"{name} sigma {sigma}: {a.members / best[1] / 1e6:.0f} -> "
                         f"{a.members / best[2] / 1e6:.0f} M/s = {best[1] / best[2]:.2f}x")
        after = parallel_ceiling(20_000_000)["speedup"]
        print(f"sitting {sitting} (ceiling {before} -> {after}): " + "; ".join(parts), flush=True)


if __name__ == "__main__":
    main()
