"""Failures that explain themselves: one line on stderr, the right exit status, nothing left behind.

Each test runs the command line as a user would (a subprocess) and checks the whole of stderr.
"""
from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "configs" / "jkn2014.yaml"
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def cli(*args, cwd=ROOT, prelude: str = ""):
    """``jkn-risk ARGS`` in a fresh interpreter; ``prelude``: Python run first (e.g. hide a module)."""
    code = f"{prelude}\nimport sys\nfrom jkn_risk.cli import main\nmain(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def one_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


def free_port() -> int:
    """A port nothing listens on (free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tiny.zarr"
    res = cli("run", TINY, "--out", path, "--sims", "4", "--workers", "0", "--no-progress")
    assert res.returncode == 0, res.stderr
    return path


# --------------------------------------------------------------------------- (1) export
def test_export_without_h5netcdf_says_which_extra(store, tmp_path):
    target = tmp_path / "r.nc"
    res = cli("export", store, target, prelude="import sys; sys.modules['h5netcdf'] = None")
    assert res.returncode == 2
    assert 'pip install -e ".[netcdf]"' in one_line(res)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_to_overwrite_like_run(store, tmp_path):
    pytest.importorskip("h5netcdf")
    target = tmp_path / "r.nc"
    assert cli("export", store, target).returncode == 0
    first = target.stat().st_mtime_ns
    res = cli("export", store, target)
    assert res.returncode == 2
    assert one_line(res) == f"{target} already exists: pass --overwrite to replace it"
    assert target.stat().st_mtime_ns == first
    res = cli("export", store, target, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


# --------------------------------------------------------------------------- (2) scheduler
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "localhost8786"])
def test_bad_scheduler_fails_in_one_line_and_creates_nothing(tmp_path, address):
    address = address.format(port=free_port())
    out = tmp_path / "r.zarr"
    t0 = time.monotonic()
    res = cli("run", TINY, "--out", out, "--sims", "4", "--scheduler", address)
    assert res.returncode == 2
    line = one_line(res)
    assert line.startswith(f"--scheduler {address}") or line.startswith(f"--scheduler {address!r}")
    assert ("cannot connect to 127.0.0.1" in line) if "tcp" in address else ("expected tcp://HOST:PORT" in line)
    assert time.monotonic() - t0 < 25  # no 30 s wait on a dead address
    assert list(tmp_path.iterdir()) == []
    res = cli("run", TINY, "--out", out, "--sims", "4", "--workers", "0", "--no-progress")  # the next plain run
    assert res.returncode == 0, res.stderr


def test_bad_scheduler_for_stress_creates_nothing(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    res = cli("stress", TINY, ROOT / "configs" / "stress" / "util_plus10.yaml", "--sims", "4", "--scheduler", address,
              "--out", tmp_path / "stress")
    assert res.returncode == 2
    assert one_line(res).startswith(f"--scheduler {address}: cannot connect to 127.0.0.1")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- (4) Ctrl-C
def test_ctrl_c_keeps_blocks_and_prints_the_command_that_continues(tmp_path):
    out = tmp_path / "r.zarr"
    proc = subprocess.Popen([sys.executable, "-m", "jkn_risk.cli", "run", str(TINY), "--out", str(out),
                             "--sims", "12", "--block-size", "1", "--workers", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if np.asarray(zarr.open_group(str(out), mode="r")["block_done"][:]).any():
                break
        except Exception:  # not created yet
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("interrupted")]
    assert lines == [err.strip().splitlines()[-1]]
    head, command = lines[0].split("; continue with: ")
    kept = int(head.split()[1])
    assert 1 <= kept < 12 and head.endswith(f"of 12 blocks kept ({kept} of 12 simulations) in {out}")
    words = shlex.split(command)
    assert words[:2] == ["jkn-risk", "run"] and words[-1] == "--resume"
    res = cli(*words[1:], "--no-progress")  # exactly that command continues the run
    assert res.returncode == 0, res.stderr
    res = cli("report", out, "--json")
    assert res.returncode == 0 and json.loads(res.stdout)[0]["year"] == 2014


# --------------------------------------------------------------------------- (5) messages
def test_bad_n_boot_is_one_line():
    res = cli("validate", BASE, "--set", "utilization.inpatient.ibnr.n_boot=5")
    assert res.returncode == 2
    assert one_line(res) == "utilization.inpatient.ibnr.n_boot: Input should be greater than or equal to 10 (got 5)"


@pytest.mark.parametrize("key, want", [("simulation.nsims", "n_sims"), ("utilization.inpatient.ratee", "rate"),
                                       ("utilization.outpatient.ibnr.n_boott", "n_boot"),
                                       ("policy.compartmnts", "compartments")])
def test_typo_gets_did_you_mean(key, want):
    res = cli("validate", BASE, "--set", f"{key}=1")
    assert res.returncode == 2
    assert one_line(res) == f"{key}: unknown key; did you mean {want!r}?"


def test_no_numpy_reprs_in_messages(tmp_path):
    tri = tmp_path / "tri.csv"
    tri.write_text("origin,development,value\n2014-01,1,10\n2014-01,2,-113138.0\n2014-01,3,12\n"
                   "2014-02,1,5\n2014-02,2,6\n2014-03,1,5\n")
    res = cli("reserve", tri)
    assert res.returncode == 2
    line = one_line(res)
    assert "negative count (got -113138)" in line and not re.search(r"np\.\w+\(", line)

    from jkn_risk.config import ConfigError

    assert ConfigError([("a.b", "negative count", np.float64(-113138.0))]).lines() == ["a.b: negative count (got -113138.0)"]


# --------------------------------------------------------------------------- (6) help
def test_every_option_says_what_it_does():
    import typer.main

    from jkn_risk.cli import app

    root = typer.main.get_command(app)
    missing = [f"{name} {p.name}" for name, cmd in root.commands.items() for p in cmd.params
               if not getattr(p, "help", None)]
    assert missing == []
    res = cli("run", "--help", prelude="import os; os.environ['COLUMNS'] = '250'")
    assert "(default: one worker process per core)" in res.stdout


def test_version():
    from jkn_risk import __version__

    res = cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"jkn-risk {__version__}"
