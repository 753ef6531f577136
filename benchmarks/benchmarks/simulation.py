"""Whole simulations of ``configs/jkn2014.yaml``: one national year through the kernel, one
``simulate_block``, and what the assumption-risk work adds to a block."""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ._common import COMPILE_TIMEOUT, INDIVIDUAL, best_of, compile_kernels, load_params

#: The uncertainty block of scripts/update_golden_digests.py's "uncertainty" case.
UNCERTAINTY = ("uncertainty={utilization: {inpatient: {level: 0.05, trend: {sigma: 0.02, "
               "phi: 0.5}}}, unit_cost: {tariff: {sigma: 0.01, jump_probability: 0.3, "
               "jump_sigma: 0.04}}, wage: {sigma: 0.02}, collection: {PBPU: {sigma: 0.2}}, "
               "membership: {PPU: {sigma: 0.02}}, shock: {probability: 0.2, "
               "log_multiplier: {mean: 0.05, sigma: 0.1}}}")


class NationalYear:
    """The first projection year (2014) of the baseline, all 50 cells, one simulation, through
    ``simulate_cells``: its own method (``auto``: collective, no cap) or forced individual."""

    params = (["auto", "individual"],)
    param_names = ["method"]

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _, method):
        from jkn_risk.codes import METHOD_INDIVIDUAL
        from jkn_risk.kernels import claims as K
        from jkn_risk.simulate import prepare_run

        params = load_params()
        if method == "individual":
            params = replace(params, method=(METHOD_INDIVIDUAL,) * len(params.care))
        Y, R, S, C = params.shape
        n = R * S * C
        kernel = prepare_run(params).kernel
        first = replace(kernel, cells=kernel.cells[:n],
                        tables=kernel.tables._replace(tariff=kernel.tables.tariff[:n]))
        rate = (params.rate[0] * np.asarray(params.ibnr_factor)).reshape(1, n)
        members = np.broadcast_to(np.rint(params.members[0])[..., None], (R, S, C)).reshape(n)
        self.K, self.members = K, int(members.sum())
        self.call = lambda: K.simulate_cells(first, np.arange(1), rate, members, threads=1)
        self.call()

    def time_simulate_cells(self, *_):
        self.call()

    def track_member_years_per_s(self, *_):
        dt, _ = best_of(self.call)
        return self.members / dt

    track_member_years_per_s.unit = "member-years/s"

    def track_events_per_s(self, *_):
        dt, out = best_of(self.call)
        return int(out[..., self.K.OUT_EVENTS].sum()) / dt

    track_events_per_s.unit = "events/s"


class SimulateBlock:
    """One block of ``simulate_block`` on the baseline (2014-2019, 300 cells), one Numba
    thread: 20 collective simulations, or 1 individual one with a 100 M IDR cap on inpatient
    and outpatient care and cost noise sigma 0.3 (the 1,000-simulation target's run)."""

    params = (["collective", "individual-cap100M-sigma0.3"],)
    param_names = ["mode"]
    timeout = 300

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _, mode):
        from jkn_risk.simulate import prepare_run, simulate_block

        individual = mode != "collective"
        self.run = prepare_run(load_params(*(INDIVIDUAL if individual else [])))
        self.sims = np.arange(1 if individual else 20)
        self.block = lambda: simulate_block(self.run, self.sims, threads=1)
        if not individual:
            self.block()

    def time_simulate_block(self, *_):
        self.block()

    def peakmem_simulate_block(self, *_):
        self.block()

    def track_cpu_seconds_per_simulation(self, *_):
        """CPU seconds of this (the only) thread per simulation, best of 2 or 3 blocks."""
        dt, _ = best_of(self.block, 2 if self.sims.size == 1 else 3, time.thread_time)
        return dt / self.sims.size

    track_cpu_seconds_per_simulation.unit = "s"


class AssumptionDraws:
    """What the assumption-risk work adds to a collective block of 20 simulations (baseline
    with the uncertainty block of the golden digests): drawing every driver's factor path and
    applying them (``draw`` + ``drawn_parameters``), and the kernel's per-cell cost scales
    (``simulate_cells`` with the drawn scales against all ones, the same rates)."""

    timeout = 300

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _):
        from jkn_risk.assumptions import draw, drawn_parameters
        from jkn_risk.kernels.claims import simulate_cells
        from jkn_risk.simulate import prepare_run, simulate_block

        run = prepare_run(load_params(UNCERTAINTY))
        sims = np.arange(20)
        n = sims.size
        self.draws = lambda: drawn_parameters(run.params, run.assumptions,
                                              draw(run.assumptions, sims))
        drawn = self.draws()
        rate = drawn.rate.reshape(n, -1)
        members = np.broadcast_to(np.rint(drawn.members)[..., None], drawn.rate.shape)
        members = members.reshape(n, -1)
        scale = np.ascontiguousarray(drawn.cost_scale.reshape(n, -1))
        self.kernel_scaled = lambda: simulate_cells(run.kernel, sims, rate, members, scale,
                                                    threads=1)
        self.kernel_plain = lambda: simulate_cells(run.kernel, sims, rate, members, threads=1)
        self.block = lambda: simulate_block(run, sims, threads=1)
        self.block()

    def time_draw_and_apply(self, _):
        self.draws()

    def time_kernel_with_cost_scales(self, _):
        self.kernel_scaled()

    def time_kernel_without_cost_scales(self, _):
        self.kernel_plain()

    def time_simulate_block(self, _):
        self.block()

    def track_assumption_share_percent(self, _):
        """(draw + apply + the cost scales' extra kernel time) / simulate_block, in % of CPU
        time (one thread)."""
        cpu = time.thread_time
        t_draw, _ = best_of(self.draws, 7, cpu)
        t_scaled, _ = best_of(self.kernel_scaled, 5, cpu)
        t_plain, _ = best_of(self.kernel_plain, 5, cpu)
        t_block, _ = best_of(self.block, 5, cpu)
        return 100.0 * (t_draw + max(0.0, t_scaled - t_plain)) / t_block

    track_assumption_share_percent.unit = "%"
