"""The ``jkn-risk`` command line (typer): the app, its entry point ``main`` and the commands that
check, project, reserve, run, report, export and warm up.

The shared plumbing (consoles, user errors with exit status 2, config loading) is in
``cli_common``; the analysis commands (stress, backtest, sensitivity) are in ``cli_studies``.
Heavy modules are imported lazily so that ``jkn-risk validate`` answers quickly.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from jkn_risk import cli_studies
from jkn_risk.cli_common import ConfigArg, SetOpt, UserError, _guard, _load, err, out
from jkn_risk.config import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="jkn_risk: a stochastic Monte Carlo risk engine for JKN's fund.")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"jkn-risk {version('jkn_risk')}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the version and exit")] = False):
    """jkn_risk: a stochastic Monte Carlo risk engine for JKN's fund."""


# --------------------------------------------------------------------------- validate
@app.command()
def validate(config: ConfigArg, set_: SetOpt = None):
    """Check a config and every file it names; print a one-screen summary, or one line per
    problem (exit 2)."""

    def go():
        from jkn_risk.tables import TableError, load_triangles

        cfg = _load(config, set_)
        try:  # load_config reads the tables; the triangles wait for build_parameters otherwise
            triangles = load_triangles(cfg)
        except TableError as exc:
            raise ConfigError(exc.problems) from None
        members = cfg.tables.members
        t = Table(title=f"{cfg.name}: {cfg.description}".strip(": "))
        t.add_column("year", justify="right")
        for s in cfg.segments:
            t.add_column(s, justify="right")
        t.add_column("total (M)", justify="right")
        for i, y in enumerate(cfg.years):
            seg = members[i].sum(axis=0) / 1e6
            t.add_row(str(y), *[f"{v:,.2f}" for v in seg], f"{seg.sum():,.2f}")
        out.print(t)
        u = cfg.utilization
        out.print(f"regions: {', '.join(cfg.regions)}   base year: {cfg.base_year}   "
                  f"case mix: {Path(cfg.case_mix.table).name} "
                  f"({sum(len(m.codes) for m in cfg.tables.case_mix.values())} rows)")
        for care in cfg.care_types:
            cu = getattr(u, care)
            tri = triangles.get(care)
            ibnr = cu.ibnr if tri is None else (f"bootstrap of {Path(cu.ibnr.triangle).name} "
                                                f"({tri.shape[0]} origins x {tri.shape[1]} lags)")
            out.print(f"{care}: rate per 1,000 member-months {dict(cu.rate)}; IBNR {ibnr}")
        out.print("contributions: " + "; ".join(f"{s} {c.type}" for s, c in cfg.contributions.items()))
        p = cfg.policy
        out.print(f"policy: cap {p.annual_benefit_cap or 'none'}, standard class {p.standard_class}, "
                  f"compartments {p.compartments}, regional share {p.regional_government_deficit_share}, "
                  f"humanitarian {p.humanitarian_fund_share}; shocks: {len(cfg.shocks)}")
        s = cfg.simulation
        out.print(f"simulation: {s.n_sims} sims, seed {s.seed}, {s.frequency}, method {s.method}")
        out.print("[green]valid[/green]")

    _guard(go)


# --------------------------------------------------------------------------- project
@app.command()
def project(config: ConfigArg, set_: SetOpt = None,
            json_: Annotated[bool, typer.Option("--json", help="Print JSON records")] = False):
    """Deterministic projection: a Table-6-style summary per year."""

    def go():
        from jkn_risk.projection import project as run_projection
        from jkn_risk.projection import table6

        rows = table6(run_projection(_load(config, set_)))
        if json_:
            print(json.dumps(rows, indent=2))
            return
        t = Table(title="Deterministic projection (IDR)", box=box.SIMPLE_HEAD,
                  caption="contribution surplus = contributions - medical cost (the paper's saldo); "
                          "fund result = contribution surplus - administration (what `jkn-risk report` measures)")
        cover = "active_coverage" in rows[0]  # a population table: coverage = members / population
        cols = ("year", "members\n(M)", "income\npmpm", "cost\npmpm", "claim ratio", "contribution\nsurplus pmpm",
                "contribution\nsurplus (T)", "fund result\n(T)")
        for col in cols + (("coverage", "active coverage") if cover else ()):
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(str(r["year"]), f"{r['members'] / 1e6:,.1f}", f"{r['income_pmpm']:,.0f}",
                      f"{r['cost_pmpm']:,.0f}", f"{100 * r['claim_ratio']:.1f}%",
                      f"{r['contribution_surplus_pmpm']:,.0f}",
                      f"{r['contribution_surplus_total'] / 1e12:,.2f}", f"{r['fund_result_total'] / 1e12:,.2f}",
                      *((f"{100 * r['coverage']:.1f}%", f"{100 * r['active_coverage']:.1f}%") if cover else ()))
        out.print(t)
        if cover:
            out.print("coverage = registered members / population; active coverage = members whose "
                      "contribution is paid (members x collection rate) / population (seed 003)")

    _guard(go)


# --------------------------------------------------------------------------- reserve
@app.command()
def reserve(triangle: Annotated[Path, typer.Argument(help="Claim triangle CSV (long or wide)")],
            bootstrap: Annotated[int, typer.Option(help="ODP bootstrap replicates (0: none)")] = 0,
            seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
            hat_adj: Annotated[bool, typer.Option(
                "--hat-adj/--no-hat-adj",
                help="Adjust the bootstrap residuals by the hat matrix (else by degrees of freedom)")] = True,
            process: Annotated[str, typer.Option(help="gamma | odp | none")] = "gamma",
            sigma_interpolation: Annotated[str, typer.Option(help="mack | log-linear")] = "log-linear",
            json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False):
    """Chain-ladder, Mack and ODP bootstrap reserving of a claim triangle."""

    def go():
        if process not in ("gamma", "odp", "none"):
            raise UserError(f"--process: must be gamma, odp or none (got {process!r})")
        if sigma_interpolation not in ("mack", "log-linear"):
            raise UserError(f"--sigma-interpolation: must be mack or log-linear (got {sigma_interpolation!r})")
        if bootstrap < 0:
            raise UserError(f"--bootstrap: must be >= 0 (got {bootstrap})")
        from jkn_risk.reserving.summary import format_summary, reserve_summary

        summary = reserve_summary(triangle, bootstrap=bootstrap, seed=seed, hat_adj=hat_adj,
                                  process=process, sigma_interpolation=sigma_interpolation)
        if json_:
            print(json.dumps(summary, indent=2))
        else:
            out.print(format_summary(summary))

    _guard(go)


# --------------------------------------------------------------------------- run
@app.command()
def run(config: ConfigArg,
        out_: Annotated[Path, typer.Option("--out", help="Results store (Zarr)")] = Path("results/run.zarr"),
        sims: Annotated[Optional[int], typer.Option(help="Number of simulations (default: config)")] = None,
        seed: Annotated[Optional[int], typer.Option(help="Seed (default: config)")] = None,
        block_size: Annotated[Optional[int], typer.Option(
            help="Simulations per block (default: the config's, else about 10 s of work per block)")] = None,
        workers: Annotated[Optional[int], typer.Option(help="0: serial, in this process (Numba threads); N: a local Dask cluster of N worker processes (default: one worker process per core)")] = None,
        scheduler: Annotated[Optional[str], typer.Option(
            help="Address of a running Dask scheduler, tcp://host:port (checked before anything is created)")] = None,
        resume: Annotated[bool, typer.Option(help="Continue an interrupted run")] = False,
        overwrite: Annotated[bool, typer.Option(help="Replace an existing store")] = False,
        progress: Annotated[bool, typer.Option(
            help="Show progress on stderr (a bar on a terminal, a line per 10% otherwise)")] = True,
        performance_report: Annotated[Optional[Path], typer.Option(
            help="With Dask: write Dask's HTML performance report of the run to this file")] = None,
        set_: SetOpt = None):
    """Monte Carlo run into a resumable Zarr store (Ctrl-C keeps the finished blocks; --resume
    continues)."""

    def go():
        from jkn_risk.orchestrate import run as run_sims
        from jkn_risk.parameters import build_parameters

        overrides = list(set_ or [])
        if sims is not None:
            overrides.append(f"simulation.n_sims={sims}")
        if seed is not None:
            overrides.append(f"simulation.seed={seed}")
        if block_size is not None:
            overrides.append(f"simulation.block_size={block_size}")
        cfg = _load(config, overrides)
        if scheduler is not None:  # before the IBNR bootstrap and before anything is created
            from jkn_risk.orchestrate import check_scheduler

            check_scheduler(scheduler)
        with _status(progress, _preparing(cfg)):
            params = build_parameters(cfg)
        path = run_sims(params, out_, workers=workers, scheduler=scheduler, resume=resume,
                        overwrite=overwrite, progress=progress,
                        performance_report=performance_report,
                        announce=lambda line: err.print(line, markup=False, highlight=False))
        err.print(f"results: {path}")

    try:
        _guard(go)
    except KeyboardInterrupt:
        words = [config, "--out", out_] + _flags(sims=sims, seed=seed, block_size=block_size,
                                                workers=workers, scheduler=scheduler, set_=set_)
        err.print(_interrupted(out_, words), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None


def _preparing(cfg) -> str:
    """What the run does before its first simulation: the IBNR bootstrap, when there is one."""
    boots = [(care, getattr(cfg.utilization, care).ibnr) for care in cfg.care_types]
    boots = [(care, b) for care, b in boots if not isinstance(b, (int, float))]
    if not boots:
        return "preparing the run"
    n = max(int(getattr(b, "n_boot", 0)) for _, b in boots)
    return f"bootstrapping IBNR ({len(boots)} triangle{'s' if len(boots) > 1 else ''} x {n:,} replicates)"


def _status(enabled: bool, text: str):
    """A spinner with ``text`` on a terminal; one line otherwise."""
    from contextlib import nullcontext

    if not enabled:
        return nullcontext()
    if err.is_terminal:
        return err.status(text)
    err.print(f"{text} ...", markup=False, highlight=False)
    return nullcontext()


def _flags(**opts) -> list:
    """Command-line words for the options given (``set_`` a list of --set values)."""
    words: list = []
    for name, value in opts.items():
        if value is None:
            continue
        flag = "--set" if name == "set_" else "--" + name.replace("_", "-")
        for v in (value if isinstance(value, list) else [value]):
            words += [flag, v]
    return words


def _interrupted(store: Path, words: list) -> str:
    """One line after Ctrl-C: the blocks kept and the exact command that continues the run."""
    import shlex

    from jkn_risk.results import completed_blocks, store_attrs

    try:
        attrs = store_attrs(store)
        done = completed_blocks(store)
    except Exception:  # no store (removed: nothing was finished) or not readable
        return f"interrupted: no block was finished, nothing kept ({store} not written)"
    n_sims, bs = int(attrs["n_sims"]), int(attrs["block_size"])
    n_blocks = -(-n_sims // bs)
    sims_done = sum(min(bs, n_sims - i * bs) for i in done)
    command = shlex.join(["jkn-risk", "run", *map(str, words), "--resume"])
    return (f"interrupted: {len(done)} of {n_blocks} blocks kept ({sims_done:,} of {n_sims:,} "
            f"simulations) in {store}; continue with: {command}")


# --------------------------------------------------------------------------- report / export
@app.command()
def report(results: Annotated[Path, typer.Argument(help="Results store (Zarr)")],
           out_: Annotated[Optional[Path], typer.Option("--out", help="Report folder")] = None,
           json_: Annotated[bool, typer.Option("--json", help="Print the risk measures as JSON")] = False):
    """Risk measures, figures and a Markdown/HTML report of a run."""

    def go():
        from jkn_risk.report import metrics, render
        from jkn_risk.results import open_results

        ds = open_results(results)
        if json_:
            text = metrics.to_json(metrics.risk_measures(ds))
            if "net_assets" in ds:
                from jkn_risk.report.fund_metrics import fund_risk_measures

                text = json.dumps({"risk_measures": json.loads(text),
                                   "fund": fund_risk_measures(ds[["net_assets", "months_of_claims"]].compute())})
            print(text)
            return
        folder = out_ or results.with_suffix("").parent / (results.stem + "_report")
        paths = render.render_report(ds, folder)
        err.print(f"report: {folder} ({len(paths)} files)")

    _guard(go)


@app.command()
def export(results: Annotated[Path, typer.Argument(help="Results store (Zarr)")],
           target: Annotated[Path, typer.Argument(help="netCDF file to write")],
           overwrite: Annotated[bool, typer.Option(help="Replace an existing file")] = False):
    """Export a results store to netCDF (needs h5netcdf: pip install -e ".[netcdf]")."""

    def go():
        from jkn_risk.results import export_netcdf

        export_netcdf(results, target, overwrite=overwrite)
        err.print(f"wrote {target}")

    _guard(go)


# --------------------------------------------------------------------------- stress, backtest, sensitivity
# Registered here, not at the end, so that `jkn-risk --help` lists them before warmup.
cli_studies.register(app)


# --------------------------------------------------------------------------- warmup
@app.command()
def warmup():
    """Compile every Numba kernel once (cached on disk), e.g. as a CI step."""

    def go():
        from jkn_risk.warmup import compile_all

        for name, seconds in compile_all():
            err.print(f"compiled {name} in {seconds:.1f} s")

    _guard(go)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="jkn-risk")


if __name__ == "__main__":  # pragma: no cover
    main()
