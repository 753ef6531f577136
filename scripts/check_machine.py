"""Check that this machine's floating point is deterministic: the same divisions, square roots
and sums, repeated, must give the same bits.

    python scripts/check_machine.py [SECONDS]      # exit 1 and one line per fault burst

Why this exists: on 2026-11-26 the 2-vCPU development VM (AMD EPYC, family 25 model 1, under
Firecracker) divided 16259973 / 13068507 (the chain-ladder factor of lag 3 of the synthetic
outpatient triangle, ``configs/data/triangles/op_claims_2014.csv``) as 1.2442104518571859
instead of 1.2442104518901815 (148,599 ulps low), in bursts of seconds on either vCPU, in
plain numpy and in a C loop of AVX2 ``vdivpd`` alike. Only the 256-bit form failed: over 40
minutes the same C loop found 205 M wrong ``vdivpd ymm`` quotients and none of 4.3e11 each in
128-bit ``vdivpd xmm``, SSE2 ``divpd`` and scalar ``divsd``. That wrong factor is what changed the
IBNR bootstrap samples inside `pytest` and `scripts/hunt_nondeterminism.py` (issue 5,
"Blocker"): a silently faulty host CPU, not non-determinism in jkn_risk. Run this beside a
reproducibility failure that you cannot reproduce; a fault here means the machine, not the
model, is wrong.

What it repeats, each round against the first round's bits:

* the 17 chain-ladder quotients of that triangle (the operands seen failing), vectorised and
  one by one in Python floats;
* 1,000,000 seeded quotients, square roots and products of random operands (vectorised);
* pairwise sums of 100 seeded rows of 10,000 values.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

# Column sums of op_claims_2014.csv over the origins seen at lag j + 1: num[j] / den[j] is the
# volume-weighted age-to-age factor of lag j. Index 2 is the pair seen failing.
KNOWN_NUM = np.array([9112399.0, 13068507.0, 16259973.0, 18949463.0, 21236066.0, 22887834.0,
                      22037033.0, 20893564.0, 19105281.0, 17219147.0, 15158660.0, 13209122.0,
                      11158625.0, 8944713.0, 6733090.0, 4354157.0, 2131842.0])
KNOWN_DEN = np.array([4582068.0, 9112399.0, 13068507.0, 16259973.0, 18949463.0, 21236066.0,
                      20820028.0, 20051420.0, 18537016.0, 16862612.0, 14892982.0, 13036787.0,
                      11050593.0, 8864051.0, 6696571.0, 4323184.0, 2121435.0])


def _workloads(divide: Callable) -> dict[str, Callable[[], np.ndarray]]:
    rng = np.random.default_rng(20261126)
    a = rng.uniform(1.0, 1e7, 1_000_000)
    b = rng.uniform(1.0, 1e7, 1_000_000)
    rows = rng.standard_normal((100, 10_000))
    num, den = KNOWN_NUM.tolist(), KNOWN_DEN.tolist()
    return {
        "known quotients (vector)": lambda: divide(KNOWN_NUM, KNOWN_DEN),
        "known quotients (scalar)": lambda: np.array([x / y for x, y in zip(num, den)]),
        "random quotients": lambda: divide(a, b),
        "random square roots": lambda: np.sqrt(a),
        "random products": lambda: a * b,
        "pairwise sums": lambda: rows.sum(axis=1),
    }


def scan(seconds: float, divide: Callable = np.divide, report=print) -> int:
    """Repeat every workload for ``seconds``; return how many rounds gave other bits.

    ``divide`` is injectable so the tests can plant a fault. ``report`` gets one line per
    workload and burst (faults less than 2 s apart are one burst)."""
    loads = _workloads(divide)
    reference = {name: f().tobytes() for name, f in loads.items()}
    faults, last_report = 0, {}
    t0 = time.monotonic()
    while True:
        for name, f in loads.items():
            got = f()
            if got.tobytes() != reference[name]:
                faults += 1
                now = time.monotonic()
                if now - last_report.get(name, -10.0) > 2.0:
                    want = np.frombuffer(reference[name], dtype=got.dtype)
                    bad = np.flatnonzero(got != want)
                    rel = np.abs(got[bad] / want[bad] - 1.0).max()
                    report(f"{time.strftime('%H:%M:%S')} {name}: {bad.size} wrong value(s), "
                           f"first at {bad[0]}: {got[bad[0]]!r} instead of {want[bad[0]]!r}; "
                           f"largest relative error {rel:.3g}")
                last_report[name] = now
        if time.monotonic() - t0 >= seconds:
            return faults


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else 60.0
    faults = scan(seconds)
    verdict = "FAULTY: this machine's arithmetic is not repeatable" if faults else "ok"
    print(f"{seconds:.0f} s: {faults} faulty round(s): {verdict}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
