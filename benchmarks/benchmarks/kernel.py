"""The claims kernel on synthetic cells (1,077 Pareto-skewed case groups, lognormal tariffs,
rate 0.3 events per member-year; ``bench_kernel.kernel_args``), one Numba thread."""
from __future__ import annotations

from ._common import COMPILE_TIMEOUT, best_of, compile_kernels

CAPS = {"50M": 50_000_000, "none": None}


def _cell_args(members, frequency, sigma, cap, method, n_cell=1):
    from bench_kernel import kernel_args

    from jkn_risk.kernels import claims as K

    freq = {"poisson": K.FREQ_POISSON, "negbin": K.FREQ_NEGBIN}[frequency]
    cap = K.NO_CAP if CAPS.get(cap, cap) is None else CAPS.get(cap, cap)
    return kernel_args(members, 0.3, freq, sigma, cap, method, n_cell=n_cell)


class IndividualCell:
    """Individual mode, one cell: every member-year simulated, annual cap per member."""

    params = ([1_000_000, 10_000_000], ["poisson", "negbin"], [0.0, 0.3], ["50M", "none"])
    param_names = ["members", "frequency", "sigma", "cap"]

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _, members, frequency, sigma, cap):
        from jkn_risk.kernels import claims as K

        self.K = K
        self.members = members
        self.args = _cell_args(members, frequency, sigma, cap, K.METHOD_INDIVIDUAL)
        K.simulate_cells(threads=1, **self.args)  # the specialisation loaded, tables warm

    def time_simulate_cells(self, *_):
        self.K.simulate_cells(threads=1, **self.args)

    def peakmem_simulate_cells(self, *_):
        self.K.simulate_cells(threads=1, **self.args)

    def track_member_years_per_s(self, *_):
        dt, _ = best_of(lambda: self.K.simulate_cells(threads=1, **self.args))
        return self.members / dt

    track_member_years_per_s.unit = "member-years/s"

    def track_events_per_s(self, *_):
        dt, out = best_of(lambda: self.K.simulate_cells(threads=1, **self.args))
        return int(out[0, 0, self.K.OUT_EVENTS]) / dt

    track_events_per_s.unit = "events/s"


class CollectiveCell:
    """Collective mode (no cap): per-case-group Poisson counts, cost noise per event."""

    params = ([1_000_000, 10_000_000], ["poisson", "negbin"], [0.0, 0.3])
    param_names = ["members", "frequency", "sigma"]

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _, members, frequency, sigma):
        from jkn_risk.kernels import claims as K

        self.K = K
        # O(groups) per cell without noise, O(events) with: about as much work either way
        self.n_cell = 100 if sigma == 0.0 else (4 if members <= 1_000_000 else 1)
        self.members = members
        self.args = _cell_args(members, frequency, sigma, "none", K.METHOD_COLLECTIVE,
                               n_cell=self.n_cell)
        K.simulate_cells(threads=1, **self.args)

    def time_simulate_cells(self, *_):
        self.K.simulate_cells(threads=1, **self.args)

    def track_us_per_cell(self, *_):
        dt, _ = best_of(lambda: self.K.simulate_cells(threads=1, **self.args))
        return dt / self.n_cell * 1e6

    track_us_per_cell.unit = "us/cell"

    def track_events_per_s(self, *_):
        dt, out = best_of(lambda: self.K.simulate_cells(threads=1, **self.args))
        return int(out[..., self.K.OUT_EVENTS].sum()) / dt

    track_events_per_s.unit = "events/s"


class RandomFloor:
    """The random-number floor the kernel is measured against: ns per xoshiro256** draw."""

    def setup(self):
        from bench_kernel import rng_floor_draws

        rng_floor_draws(10)  # compiled here, never in the timed call
        self.draws = rng_floor_draws

    def track_ns_per_draw(self):
        dt, _ = best_of(lambda: self.draws(10_000_000), 5)
        return dt / 10_000_000 * 1e9

    track_ns_per_draw.unit = "ns/draw"
