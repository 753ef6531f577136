"""The speed targets of issue 19, measured in one run beside their same-run references.

    python benchmarks/targets.py [--rounds 7] [--json]

1. Individual mode with lognormal noise (sigma 0.3, cap 50 M IDR, Poisson rate 0.3, 10 M
   members, 1,077 case groups): events per second on one core, against >= 300 M. CPU time of
   the calling thread (``time.thread_time``: the slices other processes take on this shared VM
   do not count) and wall time, best of ``--rounds``, interleaved round by round with the RNG
   floor (ns per scalar xoshiro256** draw) and the numpy baseline (``bench_kernel.numpy_cell``,
   2 M members).
2. One simulation of the 2014 baseline with a 100 M IDR cap on inpatient and outpatient care and
   cost noise 0.3 (``simulate_block``, one thread): seconds per simulation, and 1,000 of them
   extrapolated to this 2-core machine (CPU seconds / 2: both cores busy, no start-up), against
   <= 10 minutes. The real run is ``jkn-risk run ... --workers 2`` (README).
3. What the assumption-risk work adds to a collective block of 20 simulations (baseline with the
   uncertainty block of scripts/update_golden_digests.py): ``draw`` + ``drawn_parameters``, and
   the kernel with the drawn per-cell cost scales minus the kernel without them, as a share of
   ``simulate_block``, against < 5%; the same for the capped individual block.
4. Where an individual event's time goes, per piece (ns per event, the pieces' own loops on
   batches of 1,024 events as the kernel draws them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "benchmarks"))
from bench_kernel import CAP, case_mix, kernel_args, numpy_cell  # noqa: E402
from guard import reference  # noqa: E402  (the RNG floor: a frozen scalar xoshiro256** loop)

ROOT = HERE.parent
CPU = time.thread_time
WALL = time.perf_counter


def _interleaved(fns: dict, rounds: int) -> dict:
    """Best CPU and wall seconds per entry, the entries alternating round by round."""
    best = {k: [np.inf, np.inf] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            c, w = CPU(), WALL()
            fn()
            best[k] = [min(best[k][0], CPU() - c), min(best[k][1], WALL() - w)]
    return best


def individual_events(rounds: int) -> dict:
    from jkn_risk.kernels import claims as K

    members, np_members, n_floor = 10_000_000, 2_000_000, 10_000_000
    args = kernel_args(members, 0.3, K.FREQ_POISSON, 0.3, CAP, K.METHOD_INDIVIDUAL)
    events = int(K.simulate_cells(threads=1, **args)[0, 0, K.OUT_EVENTS])
    probs, tariff = case_mix()
    rng = np.random.default_rng(0)
    reference(1000)
    best = _interleaved({
        "kernel": lambda: K.simulate_cells(threads=1, **args),
        "floor": lambda: reference(n_floor),
        "numpy": lambda: numpy_cell(rng, np_members, 0.3, 0, 1.0, probs, tariff, 0.3, CAP),
    }, rounds)
    (kc, kw), (fc, fw), (nc, nw) = best["kernel"], best["floor"], best["numpy"]
    return dict(events=events, events_per_s_cpu=events / kc, events_per_s_wall=events / kw,
                ns_per_event_cpu=kc / events * 1e9, rng_floor_ns_cpu=fc / n_floor * 1e9,
                rng_floor_ns_wall=fw / n_floor * 1e9,
                floor_draws_per_event=(kc / events) / (fc / n_floor),
                numpy_member_years_per_s_cpu=np_members / nc,
                ratio_vs_numpy_cpu=(members / kc) / (np_members / nc), target_events_per_s=300e6)


def _run(*overrides):
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run

    return prepare_run(build_parameters(load_config(ROOT / "configs" / "jkn2014.yaml",
                                                    list(overrides))))


INDIVIDUAL = ["simulation.method=individual", "policy.annual_benefit_cap=100000000",
              "case_mix.cost_noise_sigma=0.3"]


def capped_simulation(rounds: int) -> dict:
    from jkn_risk.simulate import simulate_block

    run = _run(*INDIVIDUAL)
    simulate_block(run, np.array([0]), threads=1)
    reference(1000)
    k = iter(range(1, 10_000))
    best = _interleaved({"block": lambda: simulate_block(run, np.array([next(k)]), threads=1),
                         "floor": lambda: reference(10_000_000)}, max(3, rounds // 2))
    (bc, bw), (fc, _) = best["block"], best["floor"]
    ds = simulate_block(run, np.array([0]), threads=1)
    return dict(seconds_per_sim_cpu=bc, seconds_per_sim_wall=bw,
                events_per_sim=int(ds["events"].sum()), rng_floor_ns_cpu=fc / 1e7 * 1e9,
                minutes_per_1000_two_cores=1000 * bc / 2 / 60, target_minutes=10.0)


UNCERTAINTY = ("uncertainty={utilization: {inpatient: {level: 0.05, trend: {sigma: 0.02, "
               "phi: 0.5}}}, unit_cost: {tariff: {sigma: 0.01, jump_probability: 0.3, "
               "jump_sigma: 0.04}}, wage: {sigma: 0.02}, collection: {PBPU: {sigma: 0.2}}, "
               "membership: {PPU: {sigma: 0.02}}, shock: {probability: 0.2, "
               "log_multiplier: {mean: 0.05, sigma: 0.1}}}")


def assumption_share(rounds: int, overrides=(), n_sims=20) -> dict:
    from jkn_risk.assumptions import draw, drawn_parameters
    from jkn_risk.kernels.claims import simulate_cells
    from jkn_risk.simulate import simulate_block

    run = _run(UNCERTAINTY, *overrides)
    sims = np.arange(n_sims)
    n = sims.size

    def draws():
        return drawn_parameters(run.params, run.assumptions, draw(run.assumptions, sims))

    d = draws()
    rate = d.rate.reshape(n, -1)
    members = np.broadcast_to(np.rint(d.members)[..., None], d.rate.shape).reshape(n, -1)
    scale = np.ascontiguousarray(d.cost_scale.reshape(n, -1))
    fns = {"draw+apply": draws,
           "kernel scaled": lambda: simulate_cells(run.kernel, sims, rate, members, scale,
                                                   threads=1),
           "kernel unscaled": lambda: simulate_cells(run.kernel, sims, rate, members,
                                                     threads=1),
           "block": lambda: simulate_block(run, sims, threads=1)}
    for f in fns.values():
        f()
    best = {k: v[0] for k, v in _interleaved(fns, rounds).items()}
    extra = best["draw+apply"] + max(0.0, best["kernel scaled"] - best["kernel unscaled"])
    return dict(sims=n_sims, draw_and_apply_s=best["draw+apply"],
                kernel_scaled_s=best["kernel scaled"], kernel_unscaled_s=best["kernel unscaled"],
                block_s=best["block"], share_percent=100 * extra / best["block"],
                draw_share_percent=100 * best["draw+apply"] / best["block"], target_percent=5.0)


def pieces(rounds: int) -> dict:
    """ns per event of each piece of the noisy individual path (batches of 1,024)."""
    from numba import njit, uint64

    from jkn_risk.kernels import claims as K
    from jkn_risk.kernels.amounts import _case_pass_ir, scaled_amounts
    from jkn_risk.kernels.lognormal import fast_pass, slow_pass
    from jkn_risk.rng import LANES, fill_u64, seed_lanes, seed_state

    inputs = kernel_args(1000, 0.3, K.FREQ_POISSON, 0.3, CAP, K.METHOD_INDIVIDUAL)["inputs"]
    tab, cell = inputs.tables, inputs.cells[0]
    table, sh = tab.event[cell["table_row"]], np.uint64(cell["shift"])
    nr = cell["noise_row"]
    zt, fh, par = tab.noise_zt[nr], tab.noise_fh[nr], tab.noise_par[nr]
    B, NB = 1024, 4000

    @njit
    def run(piece, nb, table, sh, zt, fh, par):
        raw = np.empty(B, np.uint64)
        tz = np.empty(B)
        zz = np.empty(B)
        amt = np.empty(B, np.int64)
        lanes = np.empty((2, 4, LANES), np.uint64)
        seed_lanes(uint64(3), lanes, 0)
        seed_lanes(uint64(4), lanes, 1)
        b0, b1, b2, b3 = seed_state(uint64(9))
        mask = (uint64(1) << sh) - uint64(1)
        rej = 0
        for i in range(B):
            tz[i] = 1e6 + i
            zz[i] = 1.0 + i * 1e-4
        for _ in range(nb):
            if piece == 0:  # 64-bit words from a bulk stream (SIMD xoshiro256**)
                fill_u64(lanes, 0, raw, B)
            elif piece == 1:  # + the case groups (SIMD rows)
                fill_u64(lanes, 0, raw, B)
                _case_pass_ir(raw, table, tz, B, sh, mask)
            elif piece == 2:  # words + the lognormal fast pass
                fill_u64(lanes, 1, raw, B)
                rej += fast_pass(B, raw, zz, zt)
            elif piece == 3:  # + the slow completions of the rejected boxes
                fill_u64(lanes, 1, raw, B)
                c = fast_pass(B, raw, zz, zt)
                rej += c
                b0, b1, b2, b3 = slow_pass(c, raw, zz, zt, fh, par, b0, b1, b2, b3)
            else:  # rint(tariff x factor) to int64
                scaled_amounts(B, tz, zz, amt)
                tz[0] += 1.0
        return rej

    names = ["bulk words", "words + case groups", "words + lognormal fast pass",
             "words + fast + slow pass", "amounts rint(tariff x factor)"]
    fns = {k: (lambda k=k: run(k, NB, table, sh, zt, fh, par)) for k in range(5)}
    for f in fns.values():
        f()
    best = _interleaved(fns, rounds)
    ns = {names[k]: best[k][0] / (NB * B) * 1e9 for k in fns}
    rejected = run(2, NB, table, sh, zt, fh, par) / (NB * B)
    out = {"bulk words": ns[names[0]],
           "case groups": ns[names[1]] - ns[names[0]],
           "lognormal fast pass": ns[names[2]] - ns[names[0]],
           "slow completions": ns[names[3]] - ns[names[2]],
           "rejected share": rejected,
           "amounts (rint)": ns[names[4]]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = {"individual_events": individual_events(a.rounds),
           "capped_simulation": capped_simulation(a.rounds),
           "assumption_share_collective": assumption_share(a.rounds),
           "assumption_share_individual": assumption_share(
               max(3, a.rounds // 2), INDIVIDUAL, n_sims=1),
           "pieces_ns_per_event": pieces(a.rounds),
           "load_average_1min": os.getloadavg()[0]}
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    e, c = res["individual_events"], res["capped_simulation"]
    print(f"load average {res['load_average_1min']:.1f}")
    print(f"1. individual, sigma 0.3: {e['events_per_s_cpu'] / 1e6:.0f} M events/s CPU "
          f"({e['ns_per_event_cpu']:.2f} ns/event; wall {e['events_per_s_wall'] / 1e6:.0f} M/s); "
          f"RNG floor same run {e['rng_floor_ns_cpu']:.2f} ns/draw CPU -> "
          f"{e['floor_draws_per_event']:.2f} draws' time per event; "
          f"{e['ratio_vs_numpy_cpu']:.0f}x numpy (target >= 300 M events/s)")
    print(f"2. 2014 capped individual simulation: {c['seconds_per_sim_cpu']:.3f} s CPU "
          f"({c['seconds_per_sim_wall']:.3f} s wall), {c['events_per_sim'] / 1e6:.0f} M events; "
          f"1,000 on 2 cores: {c['minutes_per_1000_two_cores']:.1f} min (target <= 10)")
    for key, label in (("assumption_share_collective", "collective block of 20"),
                       ("assumption_share_individual", "capped individual block of 1")):
        s = res[key]
        print(f"3. assumption work, {label}: draw+apply {s['draw_and_apply_s'] * 1e3:.2f} ms, "
              f"kernel {s['kernel_scaled_s']:.3f} s with scales / {s['kernel_unscaled_s']:.3f} s "
              f"without, block {s['block_s']:.3f} s: {s['share_percent']:.2f}% (target < 5%)")
    print("4. per piece, ns per event: " + ", ".join(
        f"{k} {v:.2%}" if k == "rejected share" else f"{k} {v:.2f}"
        for k, v in res["pieces_ns_per_event"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
