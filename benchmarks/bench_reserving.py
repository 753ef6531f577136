"""Reserving benchmarks: ODP bootstrap against chainladder-python, and a million replicates.

Usage::

    python benchmarks/bench_reserving.py [--quick] [--json]

1. ``genins`` at 10,000 replicates (``--quick``: 1,000): jkn_risk ``BootstrapODP`` (compiled in
   setup, best of 3) against chainladder-python's ``BootstrapODPSample(hat_adj=True)`` +
   ``Chainladder`` (+ total IBNR) in the same run; the ratio is the figure of merit (target >= 20x).
2. 1,000,000 replicates on ``genins`` (``--quick``: 100,000) in a fresh subprocess: wall time of
   ``fit`` after compilation and the subprocess's peak RSS (targets < 10 s, < 1 GB).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GENINS = ROOT / "tests" / "data" / "triangles" / "genins.csv"

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from jkn_risk.reserving import BootstrapODP, read_triangle
tri = read_triangle({path!r})
BootstrapODP(n_sims=1000).fit(tri)          # compile / load the cached kernel
t0 = time.perf_counter()
b = BootstrapODP(n_sims={n}, random_state=0).fit(tri)
dt = time.perf_counter() - t0
# VmHWM is this process's own peak (ru_maxrss can carry the parent's peak across exec)
rss = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        rss = int(line.split()[1]) * 1024
if not rss:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": dt, "peak_rss_bytes": rss, "mean": float(b.ibnr_samples_.mean())}}))
"""


def bench_vs_chainladder(n_sims: int) -> dict:
    from jkn_risk.reserving import BootstrapODP, read_triangle

    tri = read_triangle(GENINS)
    BootstrapODP(n_sims=100).fit(tri)  # compile in setup
    ours = []
    for _ in range(3):
        t0 = time.perf_counter()
        b = BootstrapODP(n_sims=n_sims, random_state=0, center=True).fit(tri)
        ours.append(time.perf_counter() - t0)
    out = {"n_sims": n_sims, "jkn_risk_seconds": min(ours),
           "jkn_risk_mean": float(b.ibnr_samples_.mean())}
    try:
        import chainladder as cl
    except ImportError:
        out["chainladder_seconds"] = None
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = cl.load_sample("genins")
        cl.Chainladder().fit(cl.BootstrapODPSample(n_sims=10, random_state=1).fit_transform(t))
        t0 = time.perf_counter()
        sims = cl.BootstrapODPSample(n_sims=n_sims, hat_adj=True, random_state=42).fit_transform(t)
        ibnr = cl.Chainladder().fit(sims).ibnr_.sum("origin").values.ravel()
        dt = time.perf_counter() - t0
    out.update(chainladder_seconds=dt, chainladder_version=cl.__version__,
               chainladder_mean=float(ibnr.mean()), speedup=dt / out["jkn_risk_seconds"])
    return out


def bench_million(n_sims: int) -> dict:
    code = _CHILD.format(root=str(ROOT), path=str(GENINS), n=n_sims)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    d = json.loads(res.stdout.strip().splitlines()[-1])
    d["n_sims"] = n_sims
    return d


def machine() -> dict:
    import numba
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    res = {"machine": machine(),
           "genins_vs_chainladder": bench_vs_chainladder(1_000 if args.quick else 10_000),
           "genins_million": bench_million(100_000 if args.quick else 1_000_000)}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    m, a, b = res["machine"], res["genins_vs_chainladder"], res["genins_million"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, numba threads {m['numba_threads']}")
    print(f"genins, {a['n_sims']:,} replicates: jkn_risk {a['jkn_risk_seconds']:.3f} s", end="")
    if a.get("chainladder_seconds"):
        print(f", chainladder {a['chainladder_version']} {a['chainladder_seconds']:.2f} s, "
              f"speed-up {a['speedup']:.0f}x")
    else:
        print(" (chainladder not installed)")
    print(f"genins, {b['n_sims']:,} replicates: {b['seconds']:.2f} s, "
          f"peak RSS {b['peak_rss_bytes'] / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
