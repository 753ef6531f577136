"""What every ``jkn-risk`` command shares: the consoles, user errors, the guard, config loading.

User errors (a bad config, a missing file, an existing result) print one line per problem on
stderr and exit with status 2, without a traceback. The exception classes that count as user
errors are imported lazily, so that ``jkn-risk validate`` answers without loading the engine.
Kept apart from ``cli.py`` so that the command modules (``cli_studies``) can use it without
importing the app that registers them.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from jkn_risk.config import ConfigError, load_config

# Rich wraps at the terminal's width; piped output (tests, logs) gets a fixed 120 columns.
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
