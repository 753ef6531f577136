"""The ODP bootstrap of the reserving stage (``genins``, hat-matrix adjustment)."""
from __future__ import annotations

from ._common import COMPILE_TIMEOUT, GENINS, compile_kernels


class ODPBootstrap:
    params = ([10_000, 100_000], ["gamma", "none"])
    param_names = ["replicates", "process"]

    def setup_cache(self):
        return compile_kernels()

    setup_cache.timeout = COMPILE_TIMEOUT

    def setup(self, _, replicates, process):
        from jkn_risk.reserving import BootstrapODP, read_triangle

        self.tri = read_triangle(GENINS)
        self.model = BootstrapODP(n_sims=replicates, random_state=0, process=process)
        BootstrapODP(n_sims=100, random_state=0, process=process).fit(self.tri)  # load

    def time_fit(self, *_):
        self.model.fit(self.tri)

    def peakmem_fit(self, *_):
        self.model.fit(self.tri)
