"""The ``jkn-risk`` command line (typer).

User errors (a bad config, a missing file, an existing result) print one line per problem on
stderr and exit with status 2, without a traceback. Heavy modules are imported lazily so that
``jkn-risk validate`` answers quickly.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from jkn_risk.config import ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="jkn_risk: a stochastic Monte Carlo risk engine for JKN's fund.")
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key: a.b.c=VALUE (YAML)")]
ConfigArg = Annotated[Path, typer.Argument(help="YAML config file")]


class UserError(Exception):
    """An error in what the user asked for: reported without a traceback, exit status 2."""


def _fail(lines: list[str]) -> None:
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _user_errors():
    """Exception classes that are the user's to fix (imported lazily where heavy)."""
    kinds = [ConfigError, UserError, FileNotFoundError]
    try:
        from jkn_risk.reserving.triangle import TriangleError
        kinds.append(TriangleError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from jkn_risk.results import ResultsError
        kinds.append(ResultsError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from jkn_risk.orchestrate import SchedulerError
        kinds.append(SchedulerError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def _guard(fn):
    """Run ``fn`` and turn user errors into clean messages and exit status 2."""
    try:
        return fn()
    except typer.Exit:
        raise
    except _user_errors() as exc:
        lines = exc.lines() if isinstance(exc, ConfigError) else [str(exc)]
        _fail(lines)


def _load(config: Path, overrides):
    return load_config(config, overrides)


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


# --------------------------------------------------------------------------- stress
@app.command()
def stress(base: ConfigArg,
           scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files")],
           sims: Annotated[Optional[int], typer.Option(help="Simulations per scenario")] = None,
           out_: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("results/stress"),
           workers: Annotated[Optional[int], typer.Option(help="0: serial, in this process (Numba threads); N: a local Dask cluster of N worker processes (default: one worker process per core)")] = None,
           scheduler: Annotated[Optional[str], typer.Option(
               help="Address of a running Dask scheduler, tcp://host:port")] = None,
           resume: Annotated[bool, typer.Option(help="Continue an interrupted stress run")] = False,
           overwrite: Annotated[bool, typer.Option(help="Replace existing results")] = False,
           json_: Annotated[bool, typer.Option("--json", help="Print the comparison table as JSON")] = False,
           set_: SetOpt = None):
    """Run a base config and scenarios with common random numbers; compare them."""

    def go():
        from jkn_risk.scenarios import run_stress

        if scheduler is not None:  # before any scenario is built or any folder created
            from jkn_risk.orchestrate import check_scheduler

            check_scheduler(scheduler)
        table = run_stress(base, scenarios, out_dir=out_, sims=sims, workers=workers,
                           scheduler=scheduler, resume=resume, overwrite=overwrite,
                           overrides=set_, progress=not json_)
        if json_:
            print(table)
        else:
            err.print(f"stress report: {out_}")

    _guard(go)


# --------------------------------------------------------------------------- backtest
@app.command()
def backtest(config: ConfigArg,
             actuals: Annotated[Path, typer.Option(help="Actuals CSV: year,variable,value[,compartment]")],
             sims: Annotated[Optional[int], typer.Option(help="Simulations per origin (default: config)")] = None,
             out_: Annotated[Optional[Path], typer.Option("--out", help="Folder for figures, Markdown, JSON")] = None,
             json_: Annotated[bool, typer.Option("--json", help="Print records and summary as JSON")] = False,
             results: Annotated[Optional[Path], typer.Option(help="Score this results store instead of running")] = None,
             origin: Annotated[Optional[list[int]], typer.Option(
                 help="Base year to project from (repeatable); configs from --origins")] = None,
             origins: Annotated[Optional[Path], typer.Option(
                 help="Origins registry (default: origins.yaml next to CONFIG)")] = None,
             set_: SetOpt = None):
    """Score the model's distributions against published actuals: quantiles, PIT, coverage, CRPS."""

    def go():
        from jkn_risk.report.actuals import ActualsError, read_actuals
        from jkn_risk.report.origins import (OriginError, check_compartments, check_origins,
                                             plan_origins, score_origins)

        if sims is not None and results is not None:
            raise UserError("--sims: not used with --results (the store has its own simulations)")
        if sims is not None and sims < 2:
            raise UserError(f"--sims: must be at least 2 (got {sims})")
        overrides = list(set_ or []) + ([f"simulation.n_sims={sims}"] if sims is not None else [])
        try:
            base = _load(config, overrides)
            plan = plan_origins(config, base.base_year, origin, origins)
            if results is not None and len(plan) > 1:
                raise UserError("--results: one store scores one origin (give at most one --origin)")
            cfgs = [base if o.config.resolve() == config.resolve() else _load(o.config, overrides)
                    for o in plan]
            check_origins(plan, cfgs)
            acts = read_actuals(actuals, years=sorted({y for c in cfgs for y in c.years}))
            check_compartments(cfgs, acts)
            result = score_origins(plan, cfgs, acts, store=results, workdir=out_)
        except (ActualsError, OriginError) as exc:
            raise UserError(str(exc)) from None
        result["actuals"] = str(actuals)
        if out_ is not None:
            from jkn_risk.report.backtest_report import write_outputs

            write_outputs(out_, result)
        if json_:
            print(json.dumps({"records": result["records"], "summary": result["summary"]}, indent=1))
        else:
            _print_backtest(result)
        if out_ is not None:
            err.print(f"back-test report: {out_}")

    _guard(go)


def _print_backtest(result: dict) -> None:
    from jkn_risk.report.backtest import format_value

    t = Table(title="Back-test: published actuals in the model's distribution")
    for col in ("origin", "year", "variable", "actual", "q05", "median", "q95", "PIT", "in 50%",
                "in 90%", "CRPS"):
        t.add_column(col, justify="left" if col == "variable" else "right")
    for r in result["records"]:
        f = lambda x, var=r["variable"]: format_value(var, x)  # noqa: E731
        name = r["variable"] + ("" if r["compartment"] == "national" else f" ({r['compartment']})")
        t.add_row(str(r["origin"]), str(r["year"]), name, f(r["actual"]), f(r["q05"]), f(r["q50"]),
                  f(r["q95"]), f"{r['pit']:.3f}", "yes" if r["covered_50"] else "no",
                  "yes" if r["covered_90"] else "no", f(r["crps"]))
    out.print(t)
    s = result["summary"]
    if s["n_records"]:
        c50, c90 = s["coverage_50"], s["coverage_90"]
        out.print(f"coverage: 50% band {c50['covered']}/{c50['n']}, 90% band {c90['covered']}/{c90['n']}; "
                  f"mean PIT {s['mean_pit']:.3f}")
    for run_ in s["runs"]:
        out.print(f"origin {run_['year']}: {run_['config']} ({run_['n_sims']:,} simulations)"
                  + (f"; {run_['note']}" if run_["note"] else ""), markup=False)
    for k in s["skipped"]:
        out.print(f"not scored: {k['source']}: {k['reason']}", markup=False)
    for note in s["notes"]:
        out.print(f"note: {note}", markup=False)


# --------------------------------------------------------------------------- sensitivity
@app.command()
def sensitivity(config: ConfigArg,
                sims: Annotated[Optional[int], typer.Option(
                    help="Base sample size N (default: config n_sims); (k + 2) N simulations for k groups")] = None,
                out_: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("results/sensitivity"),
                json_: Annotated[bool, typer.Option("--json", help="Print the indices as JSON")] = False,
                years: Annotated[Optional[list[int]], typer.Option(
                    "--years", help="Projection year to attribute (repeatable; default: all)")] = None,
                set_: SetOpt = None):
    """Sobol attribution: first-order and total indices of each driver, IBNR and the claims process
    for the national surplus and claim ratio (pick-freeze on the keyed streams)."""

    def go():
        if sims is not None and sims < 2:
            raise UserError(f"--sims: must be at least 2 (got {sims})")
        from jkn_risk.parameters import build_parameters
        from jkn_risk.report.sensitivity import (evaluation_count, sobol_indices, stream_groups,
                                                 write_sensitivity)
        from jkn_risk.simulate import prepare_run

        cfg = _load(config, set_)
        bad = [y for y in years or [] if y not in cfg.years]
        if bad:
            raise UserError(f"--years: {bad[0]} is not a projection year of {cfg.name} "
                            f"({cfg.years[0]}-{cfg.years[-1]})")
        run_ = prepare_run(build_parameters(cfg))
        n = sims if sims is not None else run_.params.n_sims
        groups = stream_groups(run_)
        total = evaluation_count(n, len(groups))
        err.print(f"sensitivity: {len(groups)} groups ({', '.join(groups)}), N = {n:,}: {total:,} simulations",
                  markup=False, highlight=False)
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=json_ or not err.is_terminal) as bar:
            task = bar.add_task("simulating", total=total)
            result = sobol_indices(run_, n, years=sorted(set(years)) if years else None, groups=groups,
                                   progress=lambda done: bar.update(task, completed=done))
        write_sensitivity(result, out_)
        if json_:
            print(result.to_json())
            return
        for rec in result.records():
            if rec["year"] != result.years[-1]:
                continue
            t = Table(title=f"Sobol indices: {rec['target']} {rec['year']} ({100 * result.conf_level:g}% CI)")
            for col in ("driver", "S1", "S1 CI", "ST", "ST CI"):
                t.add_column(col, justify="left" if col == "driver" else "right")
            f = lambda x: "" if x is None else f"{x:.3f}"  # noqa: E731
            for i in sorted(rec["indices"], key=lambda i: -(i["ST"] if i["ST"] is not None else -1)):
                t.add_row(i["driver"], f(i["S1"]), f"[{f(i['S1_ci'][0])}, {f(i['S1_ci'][1])}]", f(i["ST"]),
                          f"[{f(i['ST_ci'][0])}, {f(i['ST_ci'][1])}]")
            out.print(t)
        err.print(f"sensitivity: {out_}")

    _guard(go)


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
