"""The analysis commands of ``jkn-risk``: ``stress``, ``backtest`` and ``sensitivity``.

Each compares or scores whole runs rather than making one. They are plain functions here, put on
the app by ``register(app)``, which ``cli.py`` calls where they belong in ``jkn-risk --help`` (a
merged ``app.add_typer(sub)`` would list them after every command of ``cli.py``, ``warmup``
included). Heavy modules are imported inside the commands, as in ``cli.py``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from jkn_risk.cli_common import ConfigArg, SetOpt, UserError, _guard, _load, err, out


# --------------------------------------------------------------------------- stress
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


def register(app: typer.Typer) -> None:
    """Add the analysis commands to ``app``, in this order."""
    for command in (stress, backtest, sensitivity):
        app.command()(command)
