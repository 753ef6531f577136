"""The asv suite (``asv.conf.json`` at the repository root; see benchmarks/README.md).

Every class compiles (or loads from Numba's cache) the kernels it times in ``setup_cache`` /
``setup``; nothing is compiled inside a timed region. ``time_*`` rows are what
``asv continuous`` compares (lower is better); ``track_*`` rows are throughputs (member-years/s,
events/s: higher is better) and shares, ``peakmem_*`` peak resident memory.
"""
