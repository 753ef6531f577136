"""Regenerate the golden digests of ``simulate_block`` (tests/regression/golden_digests.json).

    python scripts/update_golden_digests.py          # rewrite the file
    python scripts/update_golden_digests.py --check  # exit 1 if any digest differs

Run it only when a change of the random streams or of the model is deliberate, and commit the
new file with the change, so that review sees it. Each case is a few simulations of
``tests/data/tiny.yaml`` (IBNR factors fixed, so no bootstrap is involved) with the overrides
below. The digest covers every variable: integers exactly, floats rounded to 12 significant
digits (money is far above 1e-12 relative of a rupiah error, and the rounding keeps last-bit
differences of libm or SIMD code paths between machines out of the digest).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
OUT = ROOT / "tests" / "regression" / "golden_digests.json"
SIMS = [0, 1, 2, 17]
FIXED_IBNR = ["utilization.inpatient.ibnr=1.069", "utilization.outpatient.ibnr=1.069"]
CASES = {
    "collective": [],
    "individual_cap_noise": ["policy.annual_benefit_cap=20000000", "case_mix.cost_noise_sigma=0.3"],
    "negative_binomial_noise": ["simulation.frequency=negative_binomial",
                                "simulation.dispersion=0.5", "case_mix.cost_noise_sigma=0.2"],
    "uncertainty_zero_sigma": ["uncertainty={utilization: {inpatient: {level: 0.0, trend: "
                               "{sigma: 0.0, phi: 0.5}}}, wage: {sigma: 0.0}}"],
    "uncertainty": ["uncertainty={utilization: {inpatient: {level: 0.05, trend: {sigma: 0.02, "
                    "phi: 0.5}}}, unit_cost: {tariff: {sigma: 0.01, jump_probability: 0.3, "
                    "jump_sigma: 0.04}}, wage: {sigma: 0.02}, collection: {PBPU: {sigma: 0.2}}, "
                    "membership: {PPU: {sigma: 0.02}}, shock: {probability: 0.2, "
                    "log_multiplier: {mean: 0.05, sigma: 0.1}}}",
                    "policy.annual_benefit_cap=20000000"],
}


def dataset_digest(ds) -> str:
    """SHA-256 of every variable and coordinate: name, dims, dtype, then the values (integers
    and booleans as they are, floats rounded to 12 significant digits, strings as UTF-8)."""
    h = hashlib.sha256()
    for name in sorted(ds.variables):
        v = ds.variables[name]
        h.update(f"{name}|{v.dims}|{v.dtype}".encode())
        a = np.asarray(v.values)
        if a.dtype.kind == "f":
            h.update(np.ascontiguousarray(np.vectorize(lambda x: f"{x:.12g}")(a).astype("U")
                                          if a.size else a).tobytes())
        elif a.dtype.kind == "O" or a.dtype.kind == "U":
            h.update("\x1f".join(map(str, a.ravel())).encode())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def case_digest(overrides: list[str]) -> str:
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run, simulate_block

    params = build_parameters(load_config(TINY, FIXED_IBNR + list(overrides)))
    return dataset_digest(simulate_block(prepare_run(params), np.array(SIMS)))


def compute() -> dict[str, str]:
    return {name: case_digest(ov) for name, ov in CASES.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    got = compute()
    if args.check:
        want = json.loads(OUT.read_text())
        bad = [k for k in got if want.get(k) != got[k]]
        for k in bad:
            print(f"{k}: {want.get(k)} (stored) != {got[k]} (now)")
        return 1 if bad else 0
    OUT.write_text(json.dumps(got, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
