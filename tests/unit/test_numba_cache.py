"""The kernel cache is stamped by all kernel sources (jkn_risk._numba_cache).

Stock Numba keys a cached function by its own file only, so a caller whose callee lives in
another file keeps stale machine code after the callee changes. These tests show the stock
behaviour on a throw-away package (the control), the fixed behaviour with the package's
locator, that an unchanged cache is still reused, and that every cached kernel of jkn_risk
uses the package locator.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap

import pytest
from numba.core.registry import CPUDispatcher

import jkn_risk
from jkn_risk import _numba_cache

CALLER = """\
import sys
sys.path.insert(0, {parent!r})
if {install}:
    from jkn_risk import _numba_cache
    _numba_cache.install({root!r})
from numba import njit
from toypkg.callee import step

@njit(cache=True)
def caller(x):
    return step(x)

print("RESULT", caller(1))
"""


def _run(tmp_path, install: bool) -> str:
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1"}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, str(tmp_path / "toypkg" / "caller.py")],
                         capture_output=True, text=True, env=env, check=True).stdout
    return out


def _result(out: str) -> int:
    return int(next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1])


def _toy_package(tmp_path, install: bool):
    pkg = tmp_path / "toypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "callee.py").write_text(textwrap.dedent("""\
        from numba import njit

        @njit(cache=True)
        def step(x):
            return x + 1
        """))
    (pkg / "caller.py").write_text(CALLER.format(parent=str(tmp_path), root=str(pkg),
                                                 install=install))
    return pkg


def _edit_callee(pkg):
    path = pkg / "callee.py"
    path.write_text(path.read_text().replace("x + 1", "x + 10"))


@pytest.mark.parametrize("install, after_edit", [(False, 2), (True, 11)],
                         ids=["stock-numba-keeps-stale-code", "package-digest"])
def test_edit_of_a_callee_in_another_file_reaches_the_cached_caller(tmp_path, install,
                                                                     after_edit):
    pkg = _toy_package(tmp_path, install)
    first = _run(tmp_path, install)
    assert _result(first) == 2
    again = _run(tmp_path, install)
    assert _result(again) == 2
    assert "data loaded" in again  # an unchanged cache is reused, not recompiled
    _edit_callee(pkg)
    # Stock Numba reloads the caller's stale code (2): the control shows the test can fail.
    assert _result(_run(tmp_path, install)) == after_edit


def test_digest_covers_files_that_import_numba_only(tmp_path):
    (tmp_path / "kernel.py").write_text("import numpy\nfrom numba import njit\n")
    (tmp_path / "plain.py").write_text("x = 1  # mentions numba, does not import it\n")
    root = str(tmp_path)
    before = _numba_cache.kernel_source_digest(root)
    (tmp_path / "plain.py").write_text("x = 2  # mentions numba, does not import it\n")
    _numba_cache.kernel_source_digest.cache_clear()
    assert _numba_cache.kernel_source_digest(root) == before
    (tmp_path / "kernel.py").write_text("import numpy\nfrom numba import njit  # edited\n")
    _numba_cache.kernel_source_digest.cache_clear()
    assert _numba_cache.kernel_source_digest(root) != before
    _numba_cache.kernel_source_digest.cache_clear()


def _cached_dispatchers():
    for info in pkgutil.walk_packages(jkn_risk.__path__, "jkn_risk."):
        if info.name.startswith(("jkn_risk.cli", "jkn_risk.report")):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (isinstance(obj, CPUDispatcher) and obj.__module__ == info.name
                    and obj._cache.__class__.__name__ == "FunctionCache"):
                yield f"{info.name}.{name}", obj


def test_every_cached_kernel_uses_the_package_locator():
    found = dict(_cached_dispatchers())
    assert len(found) >= 20, sorted(found)
    digest = _numba_cache.kernel_source_digest()
    for name, dispatcher in found.items():
        locator = dispatcher._cache._impl.locator
        assert type(locator).__name__.startswith("PackageDigest"), name
        assert locator.get_source_stamp() == ("jkn_risk-kernel-digest", digest), name
