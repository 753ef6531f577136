"""The ``jkn-risk reserve`` summary: a JSON-ready dict and a terminal table."""
from __future__ import annotations

import numpy as np

from .bootstrap import BootstrapODP
from .chainladder import MackChainladder
from .triangle import read_triangle

__all__ = ["reserve_summary", "format_summary", "QUANTILES"]

QUANTILES = (0.75, 0.95, 0.995)


def reserve_summary(path, *, bootstrap: int = 0, seed: int = 0, hat_adj: bool = True,
                    process: str = "gamma", sigma_interpolation: str = "log-linear") -> dict:
    """Chain-ladder, Mack and (optionally) ODP-bootstrap summary of one triangle file.

    Parameters
    ----------
    path : str or Path
        Triangle CSV (see :func:`read_triangle`).
    bootstrap : int
        Number of bootstrap replicates; 0 skips the bootstrap.
    seed, hat_adj, process, sigma_interpolation
        As :class:`BootstrapODP` and :class:`MackChainladder`.

    Returns
    -------
    dict
        ``{"chainladder": {"ldf": [...], "ibnr": {origin: value}, "ibnr_total": x},
        "mack": {"se": {origin: value}, "total_se": x}}`` plus, with ``bootstrap > 0``,
        ``"bootstrap": {"n_sims", "mean", "std", "quantiles": {"0.75", "0.95", "0.995"}}``.
        Plain Python floats, so ``json.dumps`` works.
    """
    tri = read_triangle(path)
    mack = MackChainladder(sigma_interpolation=sigma_interpolation).fit(tri)
    out = {
        "chainladder": {
            "ldf": [float(x) for x in mack.ldf_],
            "ibnr": {o: float(x) for o, x in zip(tri.origin, mack.ibnr_)},
            "ibnr_total": float(mack.ibnr_total_),
        },
        "mack": {
            "se": {o: float(x) for o, x in zip(tri.origin, mack.mack_std_err_)},
            "total_se": float(mack.total_mack_std_err_),
        },
    }
    if bootstrap and bootstrap > 0:
        boot = BootstrapODP(n_sims=int(bootstrap), random_state=int(seed), hat_adj=hat_adj,
                            process=process).fit(tri)
        s = boot.ibnr_samples_
        q = np.quantile(s, QUANTILES)
        out["bootstrap"] = {
            "n_sims": int(bootstrap),
            "mean": float(s.mean()),
            "std": float(s.std(ddof=1)) if s.size > 1 else 0.0,
            "quantiles": {str(p): float(v) for p, v in zip(QUANTILES, q)},
        }
    return out


def format_summary(d: dict) -> str:
    """A plain-text table of a :func:`reserve_summary` result, for the terminal."""
    cl, mack = d["chainladder"], d["mack"]
    lines = []
    lines.append("Development factors (volume-weighted)")
    lines.append("  " + "  ".join(f"{k + 1}-{k + 2}: {f:.4f}" for k, f in enumerate(cl["ldf"])))
    lines.append("")
    w = max(6, max(len(o) for o in cl["ibnr"]))
    lines.append(f"{'origin':<{w}}  {'IBNR':>16}  {'Mack s.e.':>14}  {'CV':>7}")
    for o, ib in cl["ibnr"].items():
        se = mack["se"][o]
        cv = f"{se / ib:7.3f}" if ib else f"{'-':>7}"
        lines.append(f"{o:<{w}}  {ib:16,.1f}  {se:14,.1f}  {cv}")
    tot, tse = cl["ibnr_total"], mack["total_se"]
    cv = f"{tse / tot:7.3f}" if tot else f"{'-':>7}"
    lines.append(f"{'total':<{w}}  {tot:16,.1f}  {tse:14,.1f}  {cv}")
    if "bootstrap" in d:
        b = d["bootstrap"]
        lines.append("")
        lines.append(f"ODP bootstrap of total IBNR ({b['n_sims']:,} replicates)")
        lines.append(f"  mean {b['mean']:,.1f}   std {b['std']:,.1f}")
        lines.append("  " + "   ".join(f"q{p} {v:,.1f}" for p, v in b["quantiles"].items()))
    return "\n".join(lines)
